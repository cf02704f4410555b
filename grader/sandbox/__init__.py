"""Running untrusted code: bubblewrap sandboxes, resource limits, kernels, the model evaluator."""
