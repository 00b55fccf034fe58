"""Adversarial attacks as pure TensorFlow functions of a differentiable ``logits_fn``:
geometry and losses, FGSM, PGD, APGD, Square, the transfer protocol, and ``dispatch``, which
runs the attack an ``AttackConfig`` names."""
