"""What a run leaves behind: listeners on the loop's events, model files and checkpoints, the applied classifier,
pictures, ONNX export and the HTML report."""
