// The derivation checker (derivations.hpp). Each block below states a formula
// of the homework (README, Reproducing the homework), computes it the way the
// homework writes it, and compares it with central differences of the scalar
// it differentiates (or with its other form). Vectors are n×1 matrices, as in
// the homework ("vectors are columns").
#include "latentlab/tools/derivations.hpp"
#include "latentlab/core/format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>

#include <xtensor/xtensor.hpp>
#include <xtensor-blas/xlinalg.hpp>

namespace latentlab {

std::string to_string(DerivationKind k) {
    switch (k) {
        case DerivationKind::correct: return "correct";
        case DerivationKind::wrong_variant: return "wrong variant";
        case DerivationKind::equivalent_form: return "equivalent form";
    }
    return "?";
}

std::string to_string(DerivationVerdict v) {
    switch (v) {
        case DerivationVerdict::matches_fd: return "matches FD";
        case DerivationVerdict::differs_from_fd: return "differs from FD";
        case DerivationVerdict::inconclusive: return "inconclusive";
        case DerivationVerdict::equal: return "equal";
        case DerivationVerdict::not_equal: return "not equal";
    }
    return "?";
}

namespace {

using Mat = xt::xtensor<double, 2>;

constexpr double kStep = 1e-5;          // central-difference step
constexpr double kMatches = 1e-6;       // ≤: matches FD
constexpr double kDiffers = 1e-3;       // ≥: differs from FD
constexpr double kEqual = 1e-12;        // ≤: equivalent forms are equal

// --- small dense algebra, plain loops ------------------------------------------
// (no xt::linalg::dot: dot(A, transpose(B)) returns A·Aᵀ when B shares A's buffer)

Mat zeros(std::size_t r, std::size_t c) { return xt::zeros<double>({r, c}); }

Mat eye(std::size_t n) {
    Mat I = zeros(n, n);
    for (std::size_t i = 0; i < n; ++i) I(i, i) = 1.0;
    return I;
}

Mat randn(std::size_t r, std::size_t c, std::mt19937_64& rng, double scale = 1.0) {
    std::normal_distribution<double> N01(0.0, 1.0);
    Mat A = zeros(r, c);
    for (auto& a : A) a = scale * N01(rng);
    return A;
}

Mat mm(const Mat& A, const Mat& B) {
    const std::size_t r = A.shape()[0], k = A.shape()[1], c = B.shape()[1];
    if (B.shape()[0] != k) throw std::logic_error("derivations: inner dimensions differ");
    Mat C = zeros(r, c);
    for (std::size_t i = 0; i < r; ++i)
        for (std::size_t l = 0; l < k; ++l)
            for (std::size_t j = 0; j < c; ++j) C(i, j) += A(i, l) * B(l, j);
    return C;
}
Mat mm(const Mat& A, const Mat& B, const Mat& C) { return mm(mm(A, B), C); }
Mat mm(const Mat& A, const Mat& B, const Mat& C, const Mat& D) { return mm(mm(A, B, C), D); }

Mat tp(const Mat& A) {
    Mat T = zeros(A.shape()[1], A.shape()[0]);
    for (std::size_t i = 0; i < A.shape()[0]; ++i)
        for (std::size_t j = 0; j < A.shape()[1]; ++j) T(j, i) = A(i, j);
    return T;
}

Mat inv(const Mat& A) { return xt::linalg::inv(A); }
double logabsdet(const Mat& A) { return std::log(std::abs(xt::linalg::det(A))); }

double trace(const Mat& A) {
    double t = 0.0;
    for (std::size_t i = 0; i < A.shape()[0]; ++i) t += A(i, i);
    return t;
}
double sqnorm(const Mat& A) {
    double s = 0.0;
    for (double a : A) s += a * a;
    return s;
}
// Elementwise function of a matrix.
Mat map(const Mat& A, const std::function<double(double)>& f) {
    Mat B = A;
    for (auto& b : B) b = f(b);
    return B;
}
Mat hadamard(const Mat& A, const Mat& B) { return A * B; }

double sigm(double z) { return 1.0 / (1.0 + std::exp(-z)); }
double swish(double z) { return z * sigm(z); }

// ℓ(z) = −log softmax(z)_y, z a column, stable.
double cross_entropy(const Mat& z, std::size_t y) {
    double zmax = z(0, 0);
    for (double v : z) zmax = std::max(zmax, v);
    double s = 0.0;
    for (double v : z) s += std::exp(v - zmax);
    return zmax + std::log(s) - z(y, 0);
}
Mat softmax(const Mat& z) {
    double zmax = z(0, 0);
    for (double v : z) zmax = std::max(zmax, v);
    Mat p = map(z, [&](double v) { return std::exp(v - zmax); });
    double s = 0.0;
    for (double v : p) s += v;
    return p / s;
}
Mat onehot(std::size_t y, std::size_t c) {
    Mat e = zeros(c, 1);
    e(y, 0) = 1.0;
    return e;
}

// --- finite differences --------------------------------------------------------

// ∂f/∂X by central differences, entry by entry.
Mat fd(const std::function<double(const Mat&)>& f, const Mat& X0) {
    Mat X = X0, G = zeros(X0.shape()[0], X0.shape()[1]);
    for (std::size_t k = 0; k < X.size(); ++k) {
        const double x0 = X.data()[k];
        X.data()[k] = x0 + kStep;
        const double fp = f(X);
        X.data()[k] = x0 - kStep;
        const double fm = f(X);
        X.data()[k] = x0;
        G.data()[k] = (fp - fm) / (2.0 * kStep);
    }
    return G;
}

// f'(z) elementwise by central differences.
Mat fd_elementwise(const std::function<double(double)>& f, const Mat& z) {
    return map(z, [&](double v) { return (f(v + kStep) - f(v - kStep)) / (2.0 * kStep); });
}

double max_rel(const Mat& got, const Mat& ref) {
    if (got.shape() != ref.shape()) return INFINITY;
    double num = 0.0, den = 0.0;
    for (std::size_t k = 0; k < ref.size(); ++k) {
        num = std::max(num, std::abs(got.data()[k] - ref.data()[k]));
        den = std::max(den, std::abs(ref.data()[k]));
    }
    return den > 0.0 ? num / den : num;
}

Mat scalar(double v) {
    Mat s = zeros(1, 1);
    s(0, 0) = v;
    return s;
}

// --- collecting rows -----------------------------------------------------------

struct Rows {
    std::vector<DerivationCheck> out;

    void vs_fd(const std::string& problem, const std::string& name, const std::string& formula,
               DerivationKind kind, bool listed, const Mat& value, const Mat& numeric) {
        DerivationCheck c;
        c.problem = problem;
        c.name = name;
        c.formula = formula;
        c.reference = "finite differences";
        c.kind = kind;
        c.listed = listed;
        c.max_rel_error = max_rel(value, numeric);
        c.expected = kind == DerivationKind::correct ? DerivationVerdict::matches_fd
                                                     : DerivationVerdict::differs_from_fd;
        c.actual = c.max_rel_error <= kMatches  ? DerivationVerdict::matches_fd
                   : c.max_rel_error >= kDiffers ? DerivationVerdict::differs_from_fd
                                                 : DerivationVerdict::inconclusive;
        out.push_back(std::move(c));
    }
    void correct(const std::string& p, const std::string& n, const std::string& f, const Mat& v,
                 const Mat& num) {
        vs_fd(p, n, f, DerivationKind::correct, false, v, num);
    }
    void wrong(const std::string& p, const std::string& n, const std::string& f, bool listed,
               const Mat& v, const Mat& num) {
        vs_fd(p, n, f, DerivationKind::wrong_variant, listed, v, num);
    }
    void equivalent(const std::string& problem, const std::string& name, const std::string& form_a,
                    const std::string& form_b, bool listed, const Mat& a, const Mat& b) {
        DerivationCheck c;
        c.problem = problem;
        c.name = name;
        c.formula = form_b;
        c.reference = form_a;
        c.kind = DerivationKind::equivalent_form;
        c.listed = listed;
        c.max_rel_error = max_rel(b, a);
        c.expected = DerivationVerdict::equal;
        c.actual = c.max_rel_error <= kEqual ? DerivationVerdict::equal : DerivationVerdict::not_equal;
        out.push_back(std::move(c));
    }
};

// =============================================================================
// Problem 1 — tied linear autoencoder, L(W) = ½‖Wᵀ W x − x‖²
// =============================================================================
void problem1(std::mt19937_64& rng, Rows& rows) {
    const std::size_t n = 5, m = 3, B = 6;
    const Mat W = randn(m, n, rng, 0.6), x = randn(n, 1, rng);

    auto L = [&](const Mat& w) {
        const Mat r = mm(tp(w), w, x) - x;
        return 0.5 * sqnorm(r);
    };
    const Mat a = mm(W, x);         // a = W x
    const Mat r = mm(tp(W), a) - x;  // r = Wᵀ a − x

    // The loss node: L = ½‖r‖², ∂L/∂r = r.
    rows.correct("1d", "∂L/∂r (loss node ½‖r‖²)", "r", r,
                 fd([&](const Mat& rr) { return 0.5 * sqnorm(rr); }, r));
    // The code node: L = ½‖Wᵀ a − x‖², ∂L/∂a = W r.
    rows.correct("1d", "∂L/∂a (code a = Wx)", "W r", mm(W, r),
                 fd([&](const Mat& aa) { return 0.5 * sqnorm(mm(tp(W), aa) - x); }, a));
    // (c) The two paths, each with the other use of W held fixed.
    const Mat path_enc = mm(W, r, tp(x));  // W in a = W x
    const Mat path_dec = mm(a, tp(r));     // W in Wᵀ a
    rows.correct("1c", "∂L/∂W, path through Wx (Wᵀ held fixed)", "W r xᵀ", path_enc,
                 fd([&](const Mat& w) { return 0.5 * sqnorm(mm(tp(W), w, x) - x); }, W));
    rows.correct("1c", "∂L/∂W, path through Wᵀ (Wx held fixed)", "a rᵀ", path_dec,
                 fd([&](const Mat& w) { return 0.5 * sqnorm(mm(tp(w), a) - x); }, W));
    // (d) Their sum is the gradient.
    const Mat grad = path_enc + path_dec;
    const Mat grad_fd = fd(L, W);
    rows.correct("1d", "∇_W L (sum of the two paths)", "W r xᵀ + a rᵀ", grad, grad_fd);
    const Mat res = mm(tp(W), W, x) - x;
    rows.correct("1d", "∇_W L written out", "W (Wᵀ W x − x) xᵀ + W x (Wᵀ W x − x)ᵀ",
                 mm(W, res, tp(x)) + mm(W, x, tp(res)), grad_fd);
    rows.wrong("1d", "∇_W L, one path only", "W r xᵀ", true, path_enc, grad_fd);
    rows.equivalent("1d", "∇_W L, two forms", "W r xᵀ + a rᵀ", "W (r xᵀ + x rᵀ)", true, grad,
                    mm(W, mm(r, tp(x)) + mm(x, tp(r))));

    // Batch: X (B×n), A = X Wᵀ, R = A W − X, L = ½‖R‖_F².
    const Mat X = randn(B, n, rng);
    auto LB = [&](const Mat& w) { return 0.5 * sqnorm(mm(X, tp(w), w) - X); };
    const Mat A = mm(X, tp(W)), R = mm(A, W) - X;
    const Mat gB = mm(tp(A), R) + mm(tp(mm(R, tp(W))), X);
    const Mat gB_fd = fd(LB, W);
    rows.correct("1d", "∇_W L, batch", "Aᵀ R + (R Wᵀ)ᵀ X", gB, gB_fd);
    rows.equivalent("1d", "R Wᵀ, two forms", "R Wᵀ", "A (W Wᵀ − I)", false, mm(R, tp(W)),
                    mm(A, mm(W, tp(W)) - eye(m)));
    const Mat S = mm(tp(A), A), P = mm(tp(A), X);
    const Mat g4 = mm(S, W) + mm(W, tp(W), P) - 2.0 * P;
    rows.correct("1d", "∇_W L, batch, two products (4·B·m·n)", "S W + W Wᵀ P − 2 P", g4, gB_fd);
    rows.equivalent("1d", "∇_W L, batch, two forms", "Aᵀ R + (R Wᵀ)ᵀ X", "S W + W Wᵀ P − 2 P",
                    false, gB, g4);
    rows.equivalent("1d", "L, batch, two forms", "½ ‖R‖_F²",
                    "½ (tr(S W Wᵀ) − 2 tr(P Wᵀ) + ‖X‖_F²)", false, scalar(0.5 * sqnorm(R)),
                    scalar(0.5 * (trace(mm(S, W, tp(W))) - 2.0 * trace(mm(P, tp(W))) + sqnorm(X))));

    // The nonlinear variant L = ½‖f(Wᵀ f(W x)) − x‖²: the same two paths.
    //   z₁ = W x, h = f(z₁), z₂ = Wᵀ h, r = f(z₂) − x, δ₂ = f'(z₂) ⊙ r
    //   ∇_W L = h δ₂ᵀ + (f'(z₁) ⊙ W δ₂) xᵀ
    struct F {
        const char* name;
        std::function<double(double)> f, df;
    };
    const F fs[] = {
        {"σ", sigm, [](double z) { return sigm(z) * (1.0 - sigm(z)); }},
        {"tanh", [](double z) { return std::tanh(z); },
         [](double z) { return 1.0 - std::tanh(z) * std::tanh(z); }},
        {"swish", swish, [](double z) { return swish(z) + sigm(z) * (1.0 - swish(z)); }},
    };
    for (const F& f : fs) {
        const Mat z1 = mm(W, x), h = map(z1, f.f), z2 = mm(tp(W), h);
        const Mat rn = map(z2, f.f) - x;
        const Mat d2 = hadamard(map(z2, f.df), rn);
        const Mat d1 = hadamard(map(z1, f.df), mm(W, d2));
        auto LN = [&](const Mat& w) {
            return 0.5 * sqnorm(map(mm(tp(w), map(mm(w, x), f.f)), f.f) - x);
        };
        rows.correct("1-nonlinear", std::string("∇_W L, f = ") + f.name,
                     "h δ₂ᵀ + (f'(z₁) ⊙ W δ₂) xᵀ,  δ₂ = f'(z₂) ⊙ r", mm(h, tp(d2)) + mm(d1, tp(x)),
                     fd(LN, W));
    }
}

// =============================================================================
// Problem 2 — GPLVM with a linear kernel, K = α X Xᵀ + β⁻¹ I
// =============================================================================
void problem2(std::mt19937_64& rng, Rows& rows) {
    const std::size_t N = 6, q = 2, D = 4;
    const double alpha = 0.8, beta = 2.5;
    const double c = 0.5 * static_cast<double>(N * D) * std::log(2.0 * std::acos(-1.0));
    const double Dd = static_cast<double>(D);
    const Mat X = randn(N, q, rng), Y = randn(N, D, rng);
    const Mat YYt = mm(Y, tp(Y));

    auto Kof = [&](const Mat& x) -> Mat { return alpha * mm(x, tp(x)) + eye(N) / beta; };
    auto L1 = [&](const Mat& x) { return -0.5 * Dd * logabsdet(Kof(x)); };
    auto L2 = [&](const Mat& x) { return -0.5 * trace(mm(inv(Kof(x)), YYt)); };
    auto L = [&](const Mat& x) { return -c + L1(x) + L2(x); };

    // Matrix-calculus intermediates on generic, non-symmetric matrices, so
    // that a dropped transpose shows.
    const Mat G = randn(N, N, rng), M = randn(N, N, rng);
    const Mat Kg = 3.0 * eye(N) + randn(N, N, rng, 0.7);  // generic, invertible
    const Mat Kgi = inv(Kg);
    const Mat dlogdet_fd = fd([&](const Mat& k) { return logabsdet(k); }, Kg);
    rows.correct("2", "∂ log|K| / ∂K", "K⁻ᵀ", tp(Kgi), dlogdet_fd);
    rows.wrong("2", "∂ log|K| / ∂K, transpose dropped (K not symmetric)", "K⁻¹", false, Kgi,
               dlogdet_fd);
    const Mat dtr_fd = fd([&](const Mat& k) { return trace(mm(inv(k), M)); }, Kg);
    rows.correct("2", "∂ tr(K⁻¹ M) / ∂K", "−K⁻ᵀ Mᵀ K⁻ᵀ", -1.0 * mm(tp(Kgi), tp(M), tp(Kgi)),
                 dtr_fd);
    rows.wrong("2", "∂ tr(K⁻¹ M) / ∂K, transposes dropped", "−K⁻¹ M K⁻¹", false,
               -1.0 * mm(Kgi, M, Kgi), dtr_fd);

    // The path sum through X and Xᵀ in K = X Xᵀ, for φ with ∂φ/∂K = G:
    // φ(X) = tr(Gᵀ X Xᵀ).
    auto phi = [&](const Mat& x1, const Mat& x2) { return trace(mm(tp(G), x1, tp(x2))); };
    rows.correct("2", "∂φ/∂X through X in X Xᵀ (Xᵀ held fixed), ∂φ/∂K = G", "G X", mm(G, X),
                 fd([&](const Mat& x) { return phi(x, X); }, X));
    rows.correct("2", "∂φ/∂X through Xᵀ in X Xᵀ (X held fixed)", "Gᵀ X", mm(tp(G), X),
                 fd([&](const Mat& x) { return phi(X, x); }, X));
    rows.correct("2", "∂φ/∂X, both paths", "G X + Gᵀ X", mm(G, X) + mm(tp(G), X),
                 fd([&](const Mat& x) { return phi(x, x); }, X));
    const Mat Gs = 0.5 * (G + tp(G));
    rows.correct("2", "∂φ/∂X, both paths, G symmetric (the factor 2)", "2 G X", 2.0 * mm(Gs, X),
                 fd([&](const Mat& x) { return trace(mm(Gs, x, tp(x))); }, X));

    // (b), (d), (e) at the GPLVM's K.
    const Mat K = Kof(X), Ki = inv(K);
    const Mat dL1_fd = fd(L1, X), dL2_fd = fd(L2, X), dL_fd = fd(L, X);
    rows.correct("2b", "∂L₁/∂K (K's entries free)", "−(D/2) K⁻¹", -0.5 * Dd * Ki,
                 fd([&](const Mat& k) { return -0.5 * Dd * logabsdet(k); }, K));
    rows.correct("2b", "∂L₁/∂X", "−α D K⁻¹ X", -alpha * Dd * mm(Ki, X), dL1_fd);
    rows.wrong("2b", "∂L₁/∂X, path through Xᵀ dropped", "−(α D / 2) K⁻¹ X", true,
               -0.5 * alpha * Dd * mm(Ki, X), dL1_fd);
    rows.correct("2d", "∂L₂/∂K (K's entries free)", "½ K⁻¹ Y Yᵀ K⁻¹", 0.5 * mm(Ki, YYt, Ki),
                 fd([&](const Mat& k) { return -0.5 * trace(mm(inv(k), YYt)); }, K));
    const Mat dL2 = alpha * mm(Ki, YYt, Ki, X);
    rows.correct("2d", "∂L₂/∂X", "α K⁻¹ Y Yᵀ K⁻¹ X", dL2, dL2_fd);
    const Mat Ki2 = mm(Ki, Ki);
    rows.wrong("2d", "∂L₂/∂X, K⁻¹ moved past Y Yᵀ", "(α/2)(K⁻² Y Yᵀ + Y Yᵀ K⁻²) X", true,
               0.5 * alpha * mm(mm(Ki2, YYt) + mm(YYt, Ki2), X), dL2_fd);
    const Mat dL = -alpha * Dd * mm(Ki, X) + dL2;
    rows.correct("2e", "∂L/∂X", "−α D K⁻¹ X + α K⁻¹ Y Yᵀ K⁻¹ X", dL, dL_fd);

    // Woodbury, with M = I_q + α β Xᵀ X (q×q).
    const Mat Mq = eye(q) + alpha * beta * mm(tp(X), X), Mqi = inv(Mq);
    rows.equivalent("2-Woodbury", "K⁻¹, two forms", "inv(K)", "β I − α β² X M⁻¹ Xᵀ", false, Ki,
                    beta * eye(N) - alpha * beta * beta * mm(X, Mqi, tp(X)));
    rows.equivalent("2-Woodbury", "log|K|, two forms", "log det(K)", "−N log β + log|M|", false,
                    scalar(logabsdet(K)),
                    scalar(-static_cast<double>(N) * std::log(beta) + logabsdet(Mq)));
    // ∂L/∂X in O(N q D), no N×N matrix: K⁻¹X and K⁻¹Y by Woodbury, then
    // K⁻¹ Y Yᵀ K⁻¹ X = (K⁻¹Y)((K⁻¹Y)ᵀ X).
    const Mat KiX = beta * X - alpha * beta * beta * mm(X, Mqi, mm(tp(X), X));
    const Mat KiY = beta * Y - alpha * beta * beta * mm(X, Mqi, mm(tp(X), Y));
    rows.equivalent("2-Woodbury", "∂L/∂X without an N×N matrix", "−α D K⁻¹ X + α K⁻¹ Y Yᵀ K⁻¹ X",
                    "−α D (K⁻¹X) + α (K⁻¹Y)((K⁻¹Y)ᵀ X), K⁻¹X, K⁻¹Y by Woodbury", false, dL,
                    -alpha * Dd * KiX + alpha * mm(KiY, mm(tp(KiY), X)));

    // A nonlinear kernel: RBF k(x, x') = σ_f² exp(−‖x − x'‖²/(2ℓ²)), plus β⁻¹ I.
    const double sf2 = 1.3, ell = 0.9;
    auto Krbf_noiseless = [&](const Mat& x) -> Mat {
        Mat Kt = zeros(N, N);
        for (std::size_t i = 0; i < N; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                double d2 = 0.0;
                for (std::size_t k = 0; k < q; ++k) d2 += (x(i, k) - x(j, k)) * (x(i, k) - x(j, k));
                Kt(i, j) = sf2 * std::exp(-d2 / (2.0 * ell * ell));
            }
        return Kt;
    };
    auto LofK = [&](const Mat& k) {
        return -c - 0.5 * Dd * logabsdet(k) - 0.5 * trace(mm(inv(k), YYt));
    };
    const Mat Kt = Krbf_noiseless(X), Kr = Kt + eye(N) / beta, Kri = inv(Kr);
    const Mat dLdK = 0.5 * (mm(Kri, YYt, Kri) - Dd * Kri);
    rows.correct("2-RBF", "∂L/∂K for a general kernel (K's entries free)",
                 "½ (K⁻¹ Y Yᵀ K⁻¹ − D K⁻¹)", dLdK, fd(LofK, Kr));
    // Chain through ∂K/∂X: with Γ = (∂L/∂K) ⊙ K̃ (K̃ without the noise),
    // ∂L/∂xᵢ = −(2/ℓ²) Σⱼ Γᵢⱼ (xᵢ − xⱼ), i.e. ∂L/∂X = (2/ℓ²)(Γ X − diag(Γ 1) X).
    const Mat Gam = hadamard(dLdK, Kt);
    Mat rowsum = zeros(N, N);
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < N; ++j) rowsum(i, i) += Gam(i, j);
    rows.correct("2-RBF", "∂L/∂X through the RBF kernel",
                 "(2/ℓ²)(Γ X − diag(Γ 1) X),  Γ = (∂L/∂K) ⊙ K̃",
                 (2.0 / (ell * ell)) * (mm(Gam, X) - mm(rowsum, X)),
                 fd([&](const Mat& x) { return LofK(Krbf_noiseless(x) + eye(N) / beta); }, X));
}

// =============================================================================
// Problem 3 — backpropagation through a Swish network
// =============================================================================
void problem3(std::mt19937_64& rng, Rows& rows) {
    // Activations at generic points (8 values of spread ~2).
    const Mat z = randn(8, 1, rng, 2.0);
    const Mat s = map(z, sigm), sw = map(z, swish);
    auto ones = [](const Mat& like) -> Mat { return xt::ones_like(like); };
    rows.correct("3", "σ'(z)", "σ(z)(1 − σ(z))", hadamard(s, ones(s) - s), fd_elementwise(sigm, z));
    const Mat dsw_fd = fd_elementwise(swish, z);
    const Mat form1 = s + hadamard(z, hadamard(s, ones(s) - s));
    const Mat form2 = sw + hadamard(s, ones(s) - sw);
    const Mat form3 = hadamard(s, ones(s) + z - hadamard(z, s));
    rows.correct("3", "swish'(z)", "σ(z) + z σ(z)(1 − σ(z))", form1, dsw_fd);
    rows.correct("3", "swish'(z)", "swish(z) + σ(z)(1 − swish(z))", form2, dsw_fd);
    rows.equivalent("3", "swish'(z), two forms", "σ(z) + z σ(z)(1 − σ(z))",
                    "swish(z) + σ(z)(1 − swish(z))", false, form1, form2);
    rows.equivalent("3", "swish'(z), two forms", "swish(z) + σ(z)(1 − swish(z))",
                    "σ(z)(1 + z − z σ(z))", true, form2, form3);
    rows.wrong("3", "swish'(z), that is swish itself", "z σ(z)", true, hadamard(z, s), dsw_fd);
    rows.wrong("3", "swish'(z), product rule forgotten", "σ(z)", false, s, dsw_fd);

    // The network: x ∈ R⁵, h₁ ∈ R⁴, 3 classes, label y.
    const std::size_t n = 5, h = 4, C = 3, y = 1;
    const Mat x = randn(n, 1, rng), W1 = randn(h, n, rng, 0.7), b1 = randn(h, 1, rng, 0.3);
    const Mat W2 = randn(C, h, rng, 0.7), b2 = randn(C, 1, rng, 0.3);
    auto net = [&](const Mat& w1, const Mat& bb1, const Mat& w2, const Mat& bb2) {
        const Mat h1 = map(mm(w1, x) + bb1, swish);
        return cross_entropy(mm(w2, h1) + bb2, y);
    };
    const Mat z1 = mm(W1, x) + b1, h1 = map(z1, swish), z2 = mm(W2, h1) + b2;
    const Mat dz2 = softmax(z2) - onehot(y, C);  // ∂L/∂z₂
    const Mat dh1 = mm(tp(W2), dz2);
    const Mat dswish = map(z1, [](double v) { return swish(v) + sigm(v) * (1.0 - swish(v)); });
    const Mat dz1 = hadamard(dswish, dh1);

    rows.correct("3", "∂L/∂z₂, softmax cross-entropy", "softmax(z₂) − onehot(y)", dz2,
                 fd([&](const Mat& zz) { return cross_entropy(zz, y); }, z2));
    rows.correct("3", "∂L/∂W₂", "(∂L/∂z₂) h₁ᵀ", mm(dz2, tp(h1)),
                 fd([&](const Mat& w) { return net(W1, b1, w, b2); }, W2));
    rows.correct("3", "∂L/∂b₂", "∂L/∂z₂", dz2,
                 fd([&](const Mat& b) { return net(W1, b1, W2, b); }, b2));
    rows.correct("3", "∂L/∂h₁", "W₂ᵀ (∂L/∂z₂)", dh1,
                 fd([&](const Mat& hh) { return cross_entropy(mm(W2, hh) + b2, y); }, h1));
    rows.correct("3", "∂L/∂z₁", "swish'(z₁) ⊙ ∂L/∂h₁", dz1,
                 fd([&](const Mat& zz) { return cross_entropy(mm(W2, map(zz, swish)) + b2, y); },
                    z1));
    rows.correct("3", "∂L/∂W₁", "(∂L/∂z₁) xᵀ", mm(dz1, tp(x)),
                 fd([&](const Mat& w) { return net(w, b1, W2, b2); }, W1));
    rows.correct("3", "∂L/∂b₁", "∂L/∂z₁", dz1,
                 fd([&](const Mat& b) { return net(W1, b, W2, b2); }, b1));

    // The results hold for any upstream ∂L/∂z₂: with ℓ(z₂) = ½‖z₂ − t‖²,
    // ∂L/∂z₂ = z₂ − t and the same chain gives ∂L/∂W₁.
    const Mat t = randn(C, 1, rng);
    const Mat up = z2 - t;
    rows.correct("3", "∂L/∂W₁ for another upstream, ℓ = ½‖z₂ − t‖²",
                 "(swish'(z₁) ⊙ W₂ᵀ (z₂ − t)) xᵀ", mm(hadamard(dswish, mm(tp(W2), up)), tp(x)),
                 fd([&](const Mat& w) {
                     return 0.5 * sqnorm(mm(W2, map(mm(w, x) + b1, swish)) + b2 - t);
                 }, W1));

    // The batched form models/mlp.hpp implements (rows are samples):
    // Z₁ = X W₁ᵀ + 1b₁ᵀ, H₁ = swish(Z₁), Z₂ = H₁ W₂ᵀ + 1b₂ᵀ, L = mean CE,
    // Δ₂ = (softmax(Z₂) − onehot(y))/B, Δ₁ = swish'(Z₁) ⊙ (Δ₂ W₂).
    const std::size_t B = 6;
    const Mat X = randn(B, n, rng);
    const std::size_t labels[B] = {0, 2, 1, 1, 0, 2};
    auto rowvec = [](const Mat& A, std::size_t i) -> Mat {  // row i as a column
        Mat v = zeros(A.shape()[1], 1);
        for (std::size_t j = 0; j < A.shape()[1]; ++j) v(j, 0) = A(i, j);
        return v;
    };
    auto mean_ce = [&](const Mat& w1, const Mat& w2) {
        double s = 0.0;
        for (std::size_t i = 0; i < B; ++i) {
            const Mat hh = map(mm(w1, rowvec(X, i)) + b1, swish);
            s += cross_entropy(mm(w2, hh) + b2, labels[i]);
        }
        return s / static_cast<double>(B);
    };
    Mat Z1 = mm(X, tp(W1));
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t j = 0; j < h; ++j) Z1(i, j) += b1(j, 0);
    const Mat H1 = map(Z1, swish);
    Mat Z2 = mm(H1, tp(W2));
    Mat D2 = zeros(B, C);
    for (std::size_t i = 0; i < B; ++i) {
        Mat zi = zeros(C, 1);
        for (std::size_t k = 0; k < C; ++k) zi(k, 0) = Z2(i, k) + b2(k, 0);
        const Mat d = (softmax(zi) - onehot(labels[i], C)) / static_cast<double>(B);
        for (std::size_t k = 0; k < C; ++k) D2(i, k) = d(k, 0);
    }
    const Mat D1 = hadamard(map(Z1, [](double v) { return swish(v) + sigm(v) * (1.0 - swish(v)); }),
                            mm(D2, W2));
    rows.correct("3-batch", "∂L/∂W₂, batch mean", "Δ₂ᵀ H₁,  Δ₂ = (softmax(Z₂) − onehot(y))/B row-wise",
                 mm(tp(D2), H1), fd([&](const Mat& w) { return mean_ce(W1, w); }, W2));
    rows.correct("3-batch", "∂L/∂W₁, batch mean", "Δ₁ᵀ X,  Δ₁ = swish'(Z₁) ⊙ (Δ₂ W₂)",
                 mm(tp(D1), X), fd([&](const Mat& w) { return mean_ce(w, W2); }, W1));
}

std::string fmt_err(double v) {
    if (v == 0.0) return "0";
    return format_sci(v, 1);
}

std::string md_escape(const std::string& s) {
    std::string out;
    for (char ch : s) {
        if (ch == '|') out += "\\|";
        else out += ch;
    }
    return out;
}

}  // namespace

std::vector<DerivationCheck> check_all_derivations(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Rows rows;
    problem1(rng, rows);
    problem2(rng, rows);
    problem3(rng, rows);
    return rows.out;
}

DerivationSummary summarize(const std::vector<DerivationCheck>& checks) {
    DerivationSummary s;
    for (const auto& c : checks) {
        ++s.rows;
        if (c.pass()) ++s.passed;
        switch (c.kind) {
            case DerivationKind::correct:
                ++s.correct;
                if (c.pass()) ++s.correct_matching;
                break;
            case DerivationKind::wrong_variant:
                ++s.wrong;
                if (c.pass()) ++s.wrong_caught;
                if (c.listed) {
                    ++s.wrong_listed;
                    if (c.pass()) ++s.wrong_listed_caught;
                }
                break;
            case DerivationKind::equivalent_form:
                ++s.equivalent;
                if (c.pass()) ++s.equivalent_equal;
                if (c.listed) {
                    ++s.equivalent_listed;
                    if (c.pass()) ++s.equivalent_listed_equal;
                }
                break;
        }
    }
    return s;
}

std::string derivations_markdown(const std::vector<DerivationCheck>& checks) {
    std::string out =
        "| # | problem | quantity | formula | kind | checked against | max rel. error | expected "
        "| actual | ok |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n";
    std::size_t i = 0;
    for (const auto& c : checks) {
        const std::string ref =
            c.kind == DerivationKind::equivalent_form ? "`" + md_escape(c.reference) + "`"
                                                      : c.reference;
        out += "| " + std::to_string(++i) + " | " + c.problem + " | " + md_escape(c.name) + " | `" +
               md_escape(c.formula) + "` | " + to_string(c.kind) + (c.listed ? " (listed)" : "") +
               " | " + ref + " | " + fmt_err(c.max_rel_error) + " | " + to_string(c.expected) +
               " | " + to_string(c.actual) + " | " + (c.pass() ? "✓" : "✗ FAIL") + " |\n";
    }
    const DerivationSummary s = summarize(checks);
    out += "\n" + std::to_string(s.rows) + " checks, " + std::to_string(s.passed) +
           " as expected: " + std::to_string(s.correct_matching) + "/" +
           std::to_string(s.correct) + " correct formulas match finite differences; " +
           std::to_string(s.wrong_caught) + "/" + std::to_string(s.wrong) +
           " wrong variants caught (" + std::to_string(s.wrong_listed_caught) + "/" +
           std::to_string(s.wrong_listed) + " of the listed ones); " +
           std::to_string(s.equivalent_equal) + "/" + std::to_string(s.equivalent) +
           " equivalent forms equal to 1e-12 (" + std::to_string(s.equivalent_listed_equal) + "/" +
           std::to_string(s.equivalent_listed) + " listed pairs).\n"
           "Errors: max |a − b| / max |b| against central differences (h = 1e-5; matches ≤ 1e-6, "
           "differs ≥ 1e-3) or against the other form (equal ≤ 1e-12).\n";
    return out;
}

}  // namespace latentlab
