"""homl-grader: sandboxed autograder for the Hands-On Machine Learning ch10/ch14 assignments."""

__version__ = "0.1.0"
