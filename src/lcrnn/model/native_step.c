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

/* exp(x) for float32 within about 2 ulp, written so the compiler vectorises the loops that call it (libm's
 * expf is one scalar call per element: three per gate unit, most of a step's time). Cephes' method:
 * x = n ln2 + r with |r| <= ln2 / 2, a degree-6 polynomial for e^r, 2^n put into the exponent bits. */
static inline float exp_fast(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const int n = (int)(x * 1.44269504088896341f + 200.5f) - 200; /* round to nearest, no libm call */
    const float fn = (float)n;
    const float r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { int i; float f; } scale = {.i = (n + 127) << 23};
    return p * scale.f;
}

static inline float sigmoidf(float v) { return 1.0f / (1.0f + exp_fast(-v)); }

/* tanh(v) = 1 - 2 / (e^{2v} + 1): absolute error below 1e-7 (relative error grows only where |v| < 1e-3). */
static inline float tanh_fast(float v) { return 1.0f - 2.0f / (exp_fast(2.0f * v) + 1.0f); }

static float activate(float v, int act) {
    switch (act) {
    case 0: return sigmoidf(v);
    case 1: return v > 0.0f ? v : 0.0f;
    case 2: return tanh_fast(v);
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
        const float n = tanh_fast(gi[2 * hid + j] + r * gh[2 * hid + j]);
        h_out[j] = n + z * (h[j] - n);
    }
}

/* g, gh scratch of 4H each. */
static void lstm(float *restrict h_out, float *restrict c_out, const float *restrict x,
                 const float *restrict h, const float *restrict c, int in, int hid, const float *w_ih,
                 const float *w_hh, const float *b_ih, const float *b_hh, float *restrict g, float *restrict gh) {
    matvec(g, b_ih, x, w_ih, in, 4 * hid);
    matvec(gh, b_hh, h, w_hh, hid, 4 * hid);
    for (int j = 0; j < hid; j++) {
        const float i = sigmoidf(g[j] + gh[j]);
        const float f = sigmoidf(g[hid + j] + gh[hid + j]);
        const float gg = tanh_fast(g[2 * hid + j] + gh[2 * hid + j]);
        const float o = sigmoidf(g[3 * hid + j] + gh[3 * hid + j]);
        const float cn = f * c[j] + i * gg;
        c_out[j] = cn;
        h_out[j] = o * tanh_fast(cn);
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

/* Eval-mode GRU gate arithmetic of one packed step (lcrnn.model.fused), after the two GEMMs:
 * gi (bs, 3H) input projections, gh (bs, 3H) = h_prev @ W_hh^T + b_hh, hp (bs, H) previous state rows,
 * out (bs, H). All row-major and contiguous. One pass instead of five torch element-wise calls. */
void lcrnn_gru_gates(int bs, int hid, const float *restrict gi, const float *restrict gh,
                     const float *restrict hp, float *restrict out) {
    for (int row = 0; row < bs; row++) {
        const float *a = gi + (size_t)row * 3 * hid, *b = gh + (size_t)row * 3 * hid;
        const float *h = hp + (size_t)row * hid;
        float *o = out + (size_t)row * hid;
        for (int j = 0; j < hid; j++) {
            const float r = sigmoidf(a[j] + b[j]);
            const float z = sigmoidf(a[hid + j] + b[hid + j]);
            const float n = tanh_fast(a[2 * hid + j] + r * b[2 * hid + j]);
            o[j] = n + z * (h[j] - n);
        }
    }
}

/* Eval-mode LSTM gate arithmetic of one packed step: g (bs, 4H) pre-activations (both biases, both GEMMs),
 * cp (bs, H) previous cell rows; writes h_out and c_out (bs, H). */
void lcrnn_lstm_gates(int bs, int hid, const float *restrict g, const float *restrict cp,
                      float *restrict h_out, float *restrict c_out) {
    for (int row = 0; row < bs; row++) {
        const float *a = g + (size_t)row * 4 * hid, *c = cp + (size_t)row * hid;
        float *ho = h_out + (size_t)row * hid, *co = c_out + (size_t)row * hid;
        for (int j = 0; j < hid; j++) {
            const float i = sigmoidf(a[j]), f = sigmoidf(a[hid + j]);
            const float gg = tanh_fast(a[2 * hid + j]), o = sigmoidf(a[3 * hid + j]);
            const float cn = f * c[j] + i * gg;
            co[j] = cn;
            ho[j] = o * tanh_fast(cn);
        }
    }
}

/* lcrnn_gru_gates for training: also keeps the reset and update gates rz (bs, 2H) and the candidate n (bs, H)
 * that the hand-written backward pass of lcrnn.model.fused reads. */
void lcrnn_gru_gates_keep(int bs, int hid, const float *restrict gi, const float *restrict gh,
                          const float *restrict hp, float *restrict out, float *restrict rz,
                          float *restrict n_out) {
    for (int row = 0; row < bs; row++) {
        const float *a = gi + (size_t)row * 3 * hid, *b = gh + (size_t)row * 3 * hid;
        const float *h = hp + (size_t)row * hid;
        float *o = out + (size_t)row * hid, *g = rz + (size_t)row * 2 * hid, *nn = n_out + (size_t)row * hid;
        for (int j = 0; j < hid; j++) {
            const float r = sigmoidf(a[j] + b[j]);
            const float z = sigmoidf(a[hid + j] + b[hid + j]);
            const float n = tanh_fast(a[2 * hid + j] + r * b[2 * hid + j]);
            g[j] = r;
            g[hid + j] = z;
            nn[j] = n;
            o[j] = n + z * (h[j] - n);
        }
    }
}
