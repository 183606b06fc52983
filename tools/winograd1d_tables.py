#!/usr/bin/python3
"""winograd1d_tables.py: the transform matrices of src/kernels/winograd1d.c.

One-dimensional Winograd F(m, r) for a correlation y_i = sum_k g_k d_{i+k}
(i < m, k < r) on a = m + r - 1 inputs, from the Toom-Cook construction at
the points `pts` and infinity:

  E (a x a)  evaluates a polynomial of degree < a at the points (infinity:
             its leading coefficient);
  H (a x m), G (a x r): the first m and r columns of E;
  a linear convolution s = g * h is E^-1 ((G g) . (H h)), so by the
  transposition principle the correlation is y = H^T ((G g) . (E^-T d)).

So A^T = H^T and B^T = E^-T. Row j of B^T is scaled by f_j = prod over the
other finite points l of (p_j - p_l), and row j of G divided by it: B^T's
entries are then the coefficients of prod_{l != j} (x - p_l), exact in
float for the points used (0, +-1, +-2, +-1/2, +-3/2), and the inexact 1/f_j go
into G, which the kernel applies in double once per set of weights.

Prints C initialisers; checks each set against direct correlation.
"""
from fractions import Fraction as Fr

CONFIGS = [  # (m, r, finite points)
    (4, 7, [0, 1, -1, 2, -2, Fr(1, 2), Fr(-1, 2), Fr(3, 2), Fr(-3, 2)]),
    (4, 5, [0, 1, -1, 2, -2, Fr(1, 2), Fr(-1, 2)]),
    (4, 3, [0, 1, -1, 2, -2]),
]


def inverse(M):
    n = len(M)
    A = [row[:] + [Fr(int(i == j)) for j in range(n)] for i, row in enumerate(M)]
    for c in range(n):
        p = next(i for i in range(c, n) if A[i][c] != 0)
        A[c], A[p] = A[p], A[c]
        A[c] = [v / A[c][c] for v in A[c]]
        for i in range(n):
            if i != c and A[i][c] != 0:
                f = A[i][c]
                A[i] = [a - f * b for a, b in zip(A[i], A[c])]
    return [row[n:] for row in A]


def matrices(m, r, pts):
    a = m + r - 1
    P = [Fr(p) for p in pts]
    assert len(P) == a - 1
    E = [[p ** l for l in range(a)] for p in P] + [[Fr(int(l == a - 1)) for l in range(a)]]
    BT = inverse([[E[j][i] for j in range(a)] for i in range(a)])
    f = [Fr(1)] * a
    for j in range(a - 1):
        for l in range(a - 1):
            if l != j:
                f[j] *= P[j] - P[l]
    BT = [[BT[j][k] * f[j] for k in range(a)] for j in range(a)]
    G = [[E[j][k] / f[j] for k in range(r)] for j in range(a - 1)]
    G.append([Fr(int(k == r - 1)) for k in range(r)])
    AT = [[E[j][i] for j in range(a)] for i in range(m)]
    AT = [row[:a - 1] + [Fr(int(i == m - 1))] for i, row in enumerate(AT)]
    return BT, G, AT


def check(m, r, BT, G, AT):
    import random
    rnd = random.Random(1)
    a = m + r - 1
    for _ in range(5):
        d = [Fr(rnd.randint(-9, 9)) for _ in range(a)]
        g = [Fr(rnd.randint(-9, 9)) for _ in range(r)]
        u = [sum(G[j][k] * g[k] for k in range(r)) for j in range(a)]
        v = [sum(BT[j][k] * d[k] for k in range(a)) for j in range(a)]
        y = [sum(AT[i][j] * u[j] * v[j] for j in range(a)) for i in range(m)]
        assert y == [sum(g[k] * d[i + k] for k in range(r)) for i in range(m)]
    for row in BT + AT:
        for x in row:
            assert float(x).hex() and Fr(float(x)) == x, x  # exact in binary


def c_rows(rows, fmt):
    return '{' + ',\n     '.join('{' + ', '.join(fmt(x) for x in row) + '}' for row in rows) + '}'


def main():
    for m, r, pts in CONFIGS:
        BT, G, AT = matrices(m, r, pts)
        check(m, r, BT, G, AT)
        print('/* F(%d, %d), points %s and infinity */' % (m, r, ', '.join(str(p) for p in pts)))
        print('static const float bt_%d_%d[%d][%d] =\n    %s;' %
              (m, r, len(BT), len(BT), c_rows(BT, lambda x: repr(float(x)) + 'f')))
        print('static const float at_%d_%d[%d][%d] =\n    %s;' %
              (m, r, m, len(BT), c_rows(AT, lambda x: repr(float(x)) + 'f')))
        print('static const double g_%d_%d[%d][%d] =\n    %s;' %
              (m, r, len(G), r, c_rows(G, lambda x: '%d.0 / %d' % (x.numerator, x.denominator)
                                       if x.denominator != 1 else '%d' % x.numerator)))


if __name__ == '__main__':
    main()
