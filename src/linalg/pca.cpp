#include "latentlab/linalg/pca.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "latentlab/core/communicator.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/lapack.hpp"

namespace latentlab {

template <class T>
xt::xtensor<double, 2> second_moment(const MatrixView<T>& X) {
    // SYRK: half the flops of the GEMM XᵀX (numpy's Gram); in double, float
    // rows converted in chunks.
    const std::size_t n = X.cols;
    xt::xtensor<double, 2> C = xt::zeros<double>({n, n});
    if constexpr (std::is_same_v<T, double>) {
        blas::syrk_upper_add<double>(X.rows, n, 1.0, X.data, C.data());
    } else {
        const std::size_t chunk = 4096;
        std::vector<double> buf(std::min(chunk, X.rows) * n);
        for (std::size_t r = 0; r < X.rows; r += chunk) {
            const std::size_t k = std::min(chunk, X.rows - r);
            const T* src = X.row(r);
            for (std::size_t i = 0; i < k * n; ++i) buf[i] = src[i];
            blas::syrk_upper_add<double>(k, n, 1.0, buf.data(), C.data());
        }
    }
    blas::mirror_upper(n, C.data());
    return C;
}

Pca pca_from_second_moment(const xt::xtensor<double, 2>& C) {
    const std::size_t n = C.shape()[0];
    xt::xtensor<double, 2> V = C;
    xt::xtensor<double, 1> w = xt::xtensor<double, 1>::from_shape({n});
    if (int info = lapack::syevd(n, V.data(), w.data()); info != 0)
        throw Error("PCA: LAPACK dsyevd failed (info " + std::to_string(info) + ")");
    Pca p;
    p.eigenvalues = xt::xtensor<double, 1>::from_shape({n});
    p.components = xt::xtensor<double, 2>::from_shape({n, n});
    for (std::size_t j = 0; j < n; ++j) {  // ascending → descending
        p.eigenvalues(j) = w(n - 1 - j);
        std::copy_n(V.data() + (n - 1 - j) * n, n, p.components.data() + j * n);
    }
    return p;
}

template <class T>
xt::xtensor<double, 2> pca_scores(const MatrixView<T>& Y, const Pca& pca, std::size_t q) {
    const std::size_t N = Y.rows, D = Y.cols;
    xt::xtensor<double, 2> S = xt::zeros<double>({N, q});
    std::vector<double> V(pca.components.data(), pca.components.data() + q * D);
    if constexpr (std::is_same_v<T, double>) {
        blas::gemm<double>(blas::Op::N, blas::Op::T, N, q, D, 1.0, Y.data, D, V.data(), D, 0.0, S.data(), q);
    } else {
        std::vector<T> VT(V.begin(), V.end()), ST(N * q);
        blas::gemm<T>(blas::Op::N, blas::Op::T, N, q, D, T(1), Y.data, D, VT.data(), D, T(0), ST.data(), q);
        std::copy(ST.begin(), ST.end(), S.data());
    }
    return S;
}

template <class T>
xt::xtensor<double, 2> second_moment_all(const MatrixView<T>& X) {
    xt::xtensor<double, 2> C = second_moment(X);
    world().sum(C.data(), C.size());
    return C;
}

template <class T>
xt::xtensor<double, 2> standardised_pca_scores(const MatrixView<T>& Y, std::size_t q) {
    xt::xtensor<double, 2> S = pca_scores(Y, pca_from_second_moment(second_moment_all(Y)), q);
    const std::size_t N = Y.rows;
    const double N_all = static_cast<double>(sum_all(N));
    std::vector<double> mean(q, 0.0), var(q, 0.0);
    for (std::size_t d = 0; d < q; ++d)
        for (std::size_t i = 0; i < N; ++i) mean[d] += S(i, d);
    world().sum(mean.data(), q);
    for (std::size_t d = 0; d < q; ++d) {
        mean[d] /= N_all;
        for (std::size_t i = 0; i < N; ++i) var[d] += (S(i, d) - mean[d]) * (S(i, d) - mean[d]);
    }
    world().sum(var.data(), q);
    for (std::size_t d = 0; d < q; ++d) {
        const double sd = std::sqrt(var[d] / N_all);
        for (std::size_t i = 0; i < N; ++i) S(i, d) = sd > 0 ? (S(i, d) - mean[d]) / sd : 0.0;
    }
    return S;
}

template xt::xtensor<double, 2> second_moment<float>(const MatrixView<float>&);
template xt::xtensor<double, 2> second_moment<double>(const MatrixView<double>&);
template xt::xtensor<double, 2> second_moment_all<float>(const MatrixView<float>&);
template xt::xtensor<double, 2> second_moment_all<double>(const MatrixView<double>&);
template xt::xtensor<double, 2> pca_scores<float>(const MatrixView<float>&, const Pca&, std::size_t);
template xt::xtensor<double, 2> pca_scores<double>(const MatrixView<double>&, const Pca&, std::size_t);
template xt::xtensor<double, 2> standardised_pca_scores<float>(const MatrixView<float>&, std::size_t);
template xt::xtensor<double, 2> standardised_pca_scores<double>(const MatrixView<double>&, std::size_t);

}  // namespace latentlab
