#!/usr/bin/env python
"""The seed program (Theano Deep Learning Tutorials, ``logistic_sgd.py``)
ported faithfully to PyTensor, Theano's maintained successor.

This script is the *outside oracle* for the parity tests: it deliberately
does not import ``logistic_sgd`` and has its own data loader.

Usage::

    python tests/seed_pytensor.py --data DIR_OR_NPZ --floatx float32|float64 \
        [--n-epochs N] [--batch-size 600] [--learning-rate 0.13]

The structure is the seed's, line for line: datasets in shared variables
(labels stored as floatX and cast to int32), ``LogisticRegression`` with
zero-initialised ``W`` and ``b``, ``T.grad``, plain SGD updates,
``train_model``/``validate_model``/``test_model`` compiled with ``givens``
slicing ``index * batch_size``, and the patience early-stopping loop.  The
printed lines are byte for byte those of the original tutorial.

Changes forced by the port (Python 2 -> 3, Theano -> PyTensor):
``/`` on batch counts is ``//``, ``xrange`` is ``range``, ``time.clock`` is
``time.perf_counter``, ``T.nnet.softmax`` is ``pytensor.tensor.special.softmax``.
Additions that do not change the computation: ``n_in`` is taken from the
data (784 for MNIST-shaped data, as in the seed's ``28 * 28``), the data
come from IDX files or an ``.npz`` instead of ``mnist.pkl.gz``, the compiled
training graph is checked to compute in floatX only, ``--params-out`` can
save the final ``W`` and ``b``, and ``--graph-out`` writes the compiled graphs.

floatX defaults to float64, Theano's default.  The mode defaults to CVM
(PyTensor's C backend, as Theano's default linker); PyTensor 3's own default
is Numba (``--mode config``), which JIT-compiles inside the first training
call and runs slower here.  C code is compiled on first use, ~40 s per
floatX, and cached under ``~/.pytensor`` (``PYTENSOR_FLAGS=base_compiledir=DIR``
to move it); the lazily compiled inner graphs of softmax are compiled before
training starts, so the epochs/sec never include compilation.
"""

import argparse
import gzip
import os
import sys
import time

import numpy

_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
_IDX_DTYPES = {
    0x08: numpy.dtype(numpy.uint8),
    0x09: numpy.dtype(numpy.int8),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}
N_TRAIN = 50000


def read_idx(path):
    """Read one (gzipped) IDX file into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError("%s: not an IDX file" % path)
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in numpy.frombuffer(raw, ">u4", ndim, 4))
    data = numpy.frombuffer(raw, dtype, offset=header)
    if data.size != int(numpy.prod(shape)):
        raise ValueError("%s: header says %s, file has %d items" % (path, shape, data.size))
    return data.reshape(shape)


def read_idx_folder(folder):
    """Four IDX files -> ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)).

    Pixels become float32 ``x / 255``; the first 50,000 training images
    train, the rest validate, t10k tests.  Labels stay integers here; the
    seed's ``shared_dataset`` turns them into floatX and casts to int32.
    """
    arrays = {k: read_idx(os.path.join(folder, v)) for k, v in _IDX_FILES.items()}

    def pixels(a):
        return a.reshape(a.shape[0], -1).astype(numpy.float32) / numpy.float32(255)

    train_x = pixels(arrays["train_images"])
    test_x = pixels(arrays["test_images"])
    train_y = arrays["train_labels"].astype(numpy.int64)
    test_y = arrays["test_labels"].astype(numpy.int64)
    return ((train_x[:N_TRAIN], train_y[:N_TRAIN]), (train_x[N_TRAIN:], train_y[N_TRAIN:]), (test_x, test_y))


def read_npz(path):
    """An .npz with train_x, train_y, valid_x, valid_y, test_x, test_y."""
    with numpy.load(path) as z:
        return tuple((z[s + "_x"], z[s + "_y"]) for s in ("train", "valid", "test"))


def build(theano, T):
    """Define the seed's class and loader against the PyTensor modules."""

    class LogisticRegression:
        """Multi-class Logistic Regression Class (the seed's, unchanged)."""

        def __init__(self, input, n_in, n_out):
            # initialize with 0 the weights W as a matrix of shape (n_in, n_out)
            self.W = theano.shared(value=numpy.zeros((n_in, n_out), dtype=theano.config.floatX), name="W", borrow=True)
            # initialize the baises b as a vector of n_out 0s
            self.b = theano.shared(value=numpy.zeros((n_out,), dtype=theano.config.floatX), name="b", borrow=True)
            self.p_y_given_x = T.special.softmax(T.dot(input, self.W) + self.b, axis=-1)
            self.y_pred = T.argmax(self.p_y_given_x, axis=1)
            self.params = [self.W, self.b]

        def negative_log_likelihood(self, y):
            return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

        def errors(self, y):
            if y.ndim != self.y_pred.ndim:
                raise TypeError(
                    "y should have the same shape as self.y_pred", ("y", y.type, "y_pred", self.y_pred.type)
                )
            if y.dtype.startswith("int"):
                return T.mean(T.neq(self.y_pred, y))
            else:
                raise NotImplementedError()

    def load_data(dataset):
        print("... loading data")
        if os.path.isdir(dataset):
            train_set, valid_set, test_set = read_idx_folder(dataset)
        else:
            train_set, valid_set, test_set = read_npz(dataset)

        def shared_dataset(data_xy, borrow=True):
            data_x, data_y = data_xy
            shared_x = theano.shared(numpy.asarray(data_x, dtype=theano.config.floatX), borrow=borrow)
            shared_y = theano.shared(numpy.asarray(data_y, dtype=theano.config.floatX), borrow=borrow)
            # labels stored as floatX (as on the GPU), used as int32
            return shared_x, T.cast(shared_y, "int32")

        test_set_x, test_set_y = shared_dataset(test_set)
        valid_set_x, valid_set_y = shared_dataset(valid_set)
        train_set_x, train_set_y = shared_dataset(train_set)

        rval = [(train_set_x, train_set_y), (valid_set_x, valid_set_y), (test_set_x, test_set_y)]
        return rval

    return LogisticRegression, load_data


def check_dtypes(theano, fn, floatx, name):
    """Fail if a compiled function computes floats in another dtype than floatX.

    The zero-one loss (``T.mean`` of a boolean) is float64 in Theano and
    PyTensor whatever floatX is, so only the training graph is checked.
    """
    fgraph = fn.maker.fgraph
    bad = sorted(
        {
            str(v.type)
            for v in fgraph.variables
            if getattr(v.type, "dtype", "").startswith("float") and v.type.dtype != floatx
        }
    )
    if bad:
        raise RuntimeError("%s: float types other than %s in compiled graph: %s" % (name, floatx, bad))


def inner_ops(fn):
    """The compiled nodes of ``fn`` whose op has its own inner graph.

    In PyTensor 3, ``softmax`` and the ``log_softmax`` that the rewrites put
    in the cost are ``OpFromGraph`` ops; with the C linkers their inner
    graph is compiled into a function of its own, lazily, on first call.
    """
    from pytensor.compile.builders import OpFromGraph

    return [node for node in fn.maker.fgraph.toposort() if isinstance(node.op, OpFromGraph)]


def uses_numba(fn):
    return "numba" in type(fn.maker.linker).__name__.lower()


def compile_inner_graphs(fn):
    """Compile the lazily compiled inner functions now, as Theano compiled
    everything in ``theano.function``, so that the first run's timing does
    not include compilation.  This computes nothing.  (With the Numba
    linker the whole function is JIT-compiled on its first call instead.)"""
    if uses_numba(fn):
        return
    for node in inner_ops(fn):
        node.op.fn  # noqa: B018  (the property compiles)


def write_graph(theano, fns, path):
    """debugprint the compiled graphs of ``fns`` (name -> function) and of
    their inner functions."""
    with open(path, "w") as f:
        for name, fn in fns.items():
            print(
                "# %s -- mode: %s, linker: %s, floatX: %s"
                % (name, theano.config.mode, type(fn.maker.linker).__name__, theano.config.floatX),
                file=f,
            )
            theano.printing.debugprint(fn, file=f, print_type=True)
            for node in inner_ops(fn):
                if uses_numba(fn):
                    print("\n# %s: inner graph of %s" % (name, node.op), file=f)
                    theano.printing.debugprint(node.op.fgraph, file=f, print_type=True)
                else:
                    print("\n# %s: compiled inner function of %s" % (name, node.op), file=f)
                    theano.printing.debugprint(node.op.fn, file=f, print_type=True)
            print("\n", file=f)


def sgd_optimization_mnist(
    theano,
    T,
    learning_rate=0.13,
    n_epochs=1000,
    dataset="mnist.pkl.gz",
    batch_size=600,
    params_out=None,
    graph_out=None,
):
    LogisticRegression, load_data = build(theano, T)

    datasets = load_data(dataset)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    # compute number of minibatches for training, validation and testing
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    n_valid_batches = valid_set_x.get_value(borrow=True).shape[0] // batch_size
    n_test_batches = test_set_x.get_value(borrow=True).shape[0] // batch_size

    ######################
    # BUILD ACTUAL MODEL #
    ######################
    print("... building the model")

    # allocate symbolic variables for the data
    index = T.lscalar()  # index to a [mini]batch

    # generate symbolic variables for input (x and y represent a
    # minibatch)
    x = T.matrix("x")  # data, presented as rasterized images
    y = T.ivector("y")  # labels, presented as 1D vector of [int] labels

    # construct the logistic regression class
    # Each MNIST image has size 28*28
    n_in = train_set_x.get_value(borrow=True).shape[1]
    classifier = LogisticRegression(input=x, n_in=n_in, n_out=10)

    # the cost we minimize during training is the negative log likelihood of
    # the model in symbolic format
    cost = classifier.negative_log_likelihood(y)

    # compiling a Theano function that computes the mistakes that are made by
    # the model on a minibatch
    test_model = theano.function(
        inputs=[index],
        outputs=classifier.errors(y),
        givens={
            x: test_set_x[index * batch_size : (index + 1) * batch_size],
            y: test_set_y[index * batch_size : (index + 1) * batch_size],
        },
    )

    validate_model = theano.function(
        inputs=[index],
        outputs=classifier.errors(y),
        givens={
            x: valid_set_x[index * batch_size : (index + 1) * batch_size],
            y: valid_set_y[index * batch_size : (index + 1) * batch_size],
        },
    )

    # compute the gradient of cost with respect to theta = (W,b)
    g_W = T.grad(cost=cost, wrt=classifier.W)
    g_b = T.grad(cost=cost, wrt=classifier.b)

    # specify how to update the parameters of the model as a list of
    # (variable, update expression) pairs.
    updates = [(classifier.W, classifier.W - learning_rate * g_W), (classifier.b, classifier.b - learning_rate * g_b)]

    # compiling a Theano function `train_model` that returns the cost, but in
    # the same time updates the parameter of the model based on the rules
    # defined in `updates`
    train_model = theano.function(
        inputs=[index],
        outputs=cost,
        updates=updates,
        givens={
            x: train_set_x[index * batch_size : (index + 1) * batch_size],
            y: train_set_y[index * batch_size : (index + 1) * batch_size],
        },
    )
    check_dtypes(theano, train_model, theano.config.floatX, "train_model")
    for fn in (test_model, validate_model, train_model):
        compile_inner_graphs(fn)
    if graph_out is not None:
        write_graph(theano, {"train_model": train_model, "validate_model": validate_model}, graph_out)

    ###############
    # TRAIN MODEL #
    ###############
    print("... training the model")
    # early-stopping parameters
    patience = 5000  # look as this many examples regardless
    patience_increase = 2  # wait this much longer when a new best is
    # found
    improvement_threshold = 0.995  # a relative improvement of this much is
    # considered significant
    validation_frequency = min(n_train_batches, patience // 2)
    # go through this many
    # minibatche before checking the network
    # on the validation set; in this case we
    # check every epoch

    best_validation_loss = numpy.inf
    test_score = 0.0
    start_time = time.perf_counter()

    done_looping = False
    epoch = 0
    while (epoch < n_epochs) and (not done_looping):
        epoch = epoch + 1
        for minibatch_index in range(n_train_batches):
            minibatch_avg_cost = train_model(minibatch_index)  # noqa: F841
            # iteration number
            iter = (epoch - 1) * n_train_batches + minibatch_index

            if (iter + 1) % validation_frequency == 0:
                # compute zero-one loss on validation set
                validation_losses = [validate_model(i) for i in range(n_valid_batches)]
                this_validation_loss = numpy.mean(validation_losses)

                print(
                    "epoch %i, minibatch %i/%i, validation error %f %%"
                    % (epoch, minibatch_index + 1, n_train_batches, this_validation_loss * 100.0)
                )

                # if we got the best validation score until now
                if this_validation_loss < best_validation_loss:
                    # improve patience if loss improvement is good enough
                    if this_validation_loss < best_validation_loss * improvement_threshold:
                        patience = max(patience, iter * patience_increase)

                    best_validation_loss = this_validation_loss
                    # test it on the test set

                    test_losses = [test_model(i) for i in range(n_test_batches)]
                    test_score = numpy.mean(test_losses)

                    print(
                        ("     epoch %i, minibatch %i/%i, test error of best model %f %%")
                        % (epoch, minibatch_index + 1, n_train_batches, test_score * 100.0)
                    )

            if patience <= iter:
                done_looping = True
                break

    end_time = time.perf_counter()
    print(
        ("Optimization complete with best validation score of %f %%,with test performance %f %%")
        % (best_validation_loss * 100.0, test_score * 100.0)
    )
    print("The code run for %d epochs, with %f epochs/sec" % (epoch, 1.0 * epoch / (end_time - start_time)))
    print(
        ("The code for file " + os.path.split(__file__)[1] + " ran for %.1fs" % (end_time - start_time)),
        file=sys.stderr,
    )

    if params_out is not None:
        numpy.savez(params_out, W=classifier.W.get_value(), b=classifier.b.get_value())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data",
        required=True,
        help="folder with the four gzipped IDX files, or an .npz "
        "with train_x, train_y, valid_x, valid_y, test_x, test_y",
    )
    p.add_argument("--floatx", choices=("float32", "float64"), default="float64")
    p.add_argument("--n-epochs", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=600)
    p.add_argument("--learning-rate", type=float, default=0.13)
    p.add_argument(
        "--mode",
        default="CVM",
        help="PyTensor compilation mode (default CVM: the C backend "
        "with the C virtual machine, Theano's default linker; "
        "'config' leaves PyTensor's configured mode alone, "
        "which in PyTensor 3 is Numba; or NUMBA, C, ...)",
    )
    p.add_argument("--params-out", metavar="NPZ", help="save the final W and b here (not part of the seed)")
    p.add_argument(
        "--graph-out", metavar="TXT", help="write debugprint of the compiled train_model and validate_model here"
    )
    args = p.parse_args(argv)

    import pytensor
    import pytensor.printing
    import pytensor.tensor as T

    pytensor.config.floatX = args.floatx
    if args.mode != "config":
        pytensor.config.mode = args.mode
    sgd_optimization_mnist(
        pytensor,
        T,
        learning_rate=args.learning_rate,
        n_epochs=args.n_epochs,
        dataset=args.data,
        batch_size=args.batch_size,
        params_out=args.params_out,
        graph_out=args.graph_out,
    )


if __name__ == "__main__":
    main()
