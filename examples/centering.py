"""A small NumPy script with the classic silent and loud shape bugs."""
import numpy as np

rng = np.random.default_rng(0)
X = rng.normal(size=(50, 3))
w = np.ones(4)

mu = X.mean(axis=0)
Xc = X - mu                # fine: (50, 3) - (3,)
scores = X @ w             # (50, 3) @ (4,): matmul dims cannot match
col = X[:, 0:1]            # (50, 1)
row = X[:, 0]              # (50,)
outer = col + row          # (50, 1) + (50,) -> (50, 50): probably not meant
bad = X + np.zeros((50, 4))  # cannot broadcast
