"""Code that runs inside the sandbox: the kernel launcher and its MNIST hook, the probe, the
model evaluator. It imports nothing from the rest of `grader` (relative imports only), so the
judge, the keys and the reports stay out of reach of everything that runs here.
"""
