/* One eval-mode step of lcrnn's MixedInputRNN for a few objects, in plain C (lcrnn/model/flat_step.py).
 *
 * Why: one new observation of one object is ~20 small ATen calls through torch (gru_cell, addmm,
 * activations), each costing microseconds of dispatch for a few hundred multiply-adds. Here the whole step,
 * both recurrent cells and the three dense maps on BN-folded weights, is one call: matrix-vector products
 * over transposed (in, out) weights whose inner loop the compiler vectorises.
 *
 * Equations are PyTorch's: GRU gates (r, z, n), n = tanh(gi_n + r * gh_n), h' = (1 - z) n + z h;
 * LSTM gates (i, f, g, o), c' = f c + i g, h' = o tanh(c'). State rows are [h1, h2] (GRU) or
 * [h1, c1, h2, c2] (LSTM), as MixedInputRNN.initial_state lists them.
 */
#include <math.h>
#include <string.h>

enum { W1I, W1H, B1I, B1H, W2I, W2H, B2I, B2H, WD1, BD1, WD1C, WD2, BD2, WO, BO, N_WEIGHTS };

/* y[0:m] = b + x[0:k] @ wt, wt row-major (k, m). Four rows of wt per pass: y is loaded and stored once for
 * every four multiply-adds instead of every one. */
static void matvec(float *restrict y, const float *restrict b, const float *restrict x,
                   const float *restrict wt, int k, int m) {
    memcpy(y, b, sizeof(float) * (size_t)m);
    int i = 0;
    for (; i + 4 <= k; i += 4) {
        const float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
        const float *restrict r0 = wt + (size_t)i * m;
        const float *restrict r1 = r0 + m, *restrict r2 = r1 + m, *restrict r3 = r2 + m;
        for (int j = 0; j < m; j++) y[j] += x0 * r0[j] + x1 * r1[j] + x2 * r2[j] + x3 * r3[j];
    }
    for (; i < k; i++) {
        const float xi = x[i];
        const float *restrict row = wt + (size_t)i * m;
        for (int j = 0; j < m; j++) y[j] += xi * row[j];
    }
}

static float sigmoidf(float v) { return 1.0f / (1.0f + expf(-v)); }

static float activate(float v, int act) {
    switch (act) {
    case 0: return sigmoidf(v);
    case 1: return v > 0.0f ? v : 0.0f;
    case 2: return tanhf(v);
    default: return v > 0.0f ? v : expm1f(v);
    }
}

/* gi, gh scratch of 3H each. */
static void gru(float *restrict h_out, const float *restrict x, const float *restrict h, int in, int hid,
                const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
                float *restrict gi, float *restrict gh) {
    matvec(gi, b_ih, x, w_ih, in, 3 * hid);
    matvec(gh, b_hh, h, w_hh, hid, 3 * hid);
    for (int j = 0; j < hid; j++) {
        const float r = sigmoidf(gi[j] + gh[j]);
        const float z = sigmoidf(gi[hid + j] + gh[hid + j]);
        const float n = tanhf(gi[2 * hid + j] + r * gh[2 * hid + j]);
        h_out[j] = n + z * (h[j] - n);
    }
}

/* g, gh scratch of 4H each. */
static void lstm(float *restrict h_out, float *restrict c_out, const float *restrict x,
                 const float *restrict h, const float *restrict c, int in, int hid, const float *w_ih, const float *w_hh,
                 const float *b_ih, const float *b_hh, float *restrict g, float *restrict gh) {
    matvec(g, b_ih, x, w_ih, in, 4 * hid);
    matvec(gh, b_hh, h, w_hh, hid, 4 * hid);
    for (int j = 0; j < hid; j++) {
        const float i = sigmoidf(g[j] + gh[j]);
        const float f = sigmoidf(g[hid + j] + gh[hid + j]);
        const float gg = tanhf(g[2 * hid + j] + gh[2 * hid + j]);
        const float o = sigmoidf(g[3 * hid + j] + gh[3 * hid + j]);
        const float cn = f * c[j] + i * gg;
        c_out[j] = cn;
        h_out[j] = o * tanhf(cn);
    }
}

/* dims: cell (0 GRU, 1 LSTM), activation (0 sigmoid, 1 relu, 2 tanh, 3 elu), F, H, C (0: no context), D, K.
 * w: the N_WEIGHTS arrays above. scratch: at least 8H + 2D floats. Returns 0, or -1 for unknown dims. */
int lcrnn_step(const int *dims, const float *const *w, int n, const float *x, const float *ctx,
               const float *state, float *state_out, float *logits, float *scratch) {
    const int cell = dims[0], act = dims[1], nf = dims[2], hid = dims[3], nc = dims[4], nd = dims[5];
    const int nk = dims[6];
    if (hid <= 0 || nd <= 0 || nk <= 0 || (cell != 0 && cell != 1)) return -1;
    const int ns = (cell == 0 ? 2 : 4) * hid;
    float *a = scratch, *b = scratch + 4 * hid, *z1 = scratch + 8 * hid, *z2 = z1 + nd;
    for (int row = 0; row < n; row++) {
        const float *xr = x + (size_t)row * nf, *s = state + (size_t)row * ns;
        float *so = state_out + (size_t)row * ns;
        const float *h2;
        if (cell == 0) {
            gru(so, xr, s, nf, hid, w[W1I], w[W1H], w[B1I], w[B1H], a, b);
            gru(so + hid, so, s + hid, hid, hid, w[W2I], w[W2H], w[B2I], w[B2H], a, b);
            h2 = so + hid;
        } else {
            lstm(so, so + hid, xr, s, s + hid, nf, hid, w[W1I], w[W1H], w[B1I], w[B1H], a, b);
            lstm(so + 2 * hid, so + 3 * hid, so, s + 2 * hid, s + 3 * hid, hid, hid, w[W2I], w[W2H], w[B2I],
                 w[B2H], a, b);
            h2 = so + 2 * hid;
        }
        matvec(z1, w[BD1], h2, w[WD1], hid, nd);
        if (nc > 0) {
            const float *cr = ctx + (size_t)row * nc;
            for (int i = 0; i < nc; i++)
                for (int j = 0; j < nd; j++) z1[j] += cr[i] * w[WD1C][(size_t)i * nd + j];
        }
        for (int j = 0; j < nd; j++) z1[j] = activate(z1[j], act);
        matvec(z2, w[BD2], z1, w[WD2], nd, nd);
        for (int j = 0; j < nd; j++) z2[j] = activate(z2[j], act);
        matvec(logits + (size_t)row * nk, w[BO], z2, w[WO], nd, nk);
    }
    return 0;
}
