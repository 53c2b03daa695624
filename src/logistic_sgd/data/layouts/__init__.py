"""The memory-mappable layouts written by ``logistic-sgd convert``: dense rows and CSR rows."""
