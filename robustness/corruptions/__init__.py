"""Natural corruptions as pure TensorFlow functions of an image batch: the 15 MNIST-C
corruptions (Mu and Gilmer 2019) for any image, and ImageNet-C's families (Hendrycks and
Dietterich 2019) for RGB images, each at severities 1 to 5 (0 is the identity).

Every random draw is seeded from the example's own bytes and the corruption's name, so the
candidate and the baseline see the same corrupted image and a re-run repeats it exactly.
``registry`` holds the corruptions by name and ``apply`` / ``compile_corruption`` run them;
the named sets (``none``, ``quick``, ``full``) are written once, in ``base.corruption_sets``.
"""
