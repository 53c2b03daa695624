"""The math: the model, optimisers, the patience rule, weights of classes and examples, per-class metrics.

Plain array math: nothing here knows which backend, device, kernel or file layout it runs on.
"""
