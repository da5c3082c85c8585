// Principal component analysis by LAPACK: the second moment C = XᵀX of the
// rows as given (centred or not), its eigendecomposition, and the scores.
// The one PCA of the project: the autoencoder's optimum and angles
// (analysis/pca.hpp), the GPLVM's initial latents and its analytic optimum
// (models/gplvm.hpp, analysis/gplvm_optimum.hpp) all start here.
#pragma once
#include <cstddef>
#include <limits>

#include <xtensor/xtensor.hpp>

#include "latentlab/core/matrix_view.hpp"

namespace latentlab {

// C = Xᵀ X in double (n×n), accumulated over chunks of rows.
template <class T>
xt::xtensor<double, 2> second_moment(const MatrixView<T>& X);

// The same summed over every process's rows (core/communicator.hpp): the
// second moment of all rows when each rank holds a share. A collective call.
template <class T>
xt::xtensor<double, 2> second_moment_all(const MatrixView<T>& X);

struct Pca {
    xt::xtensor<double, 1> eigenvalues;  // descending
    xt::xtensor<double, 2> components;   // row j = unit eigenvector of eigenvalues[j] (the top rows only when asked)
};

// Eigendecomposition of the symmetric C (double): every eigenvalue, and the
// top `vectors` components (all by default: dsyevd; fewer: lapack::syev_top,
// about half the time for the 32 of 784 an autoencoder needs). Throws Error
// if LAPACK fails.
Pca pca_from_second_moment(const xt::xtensor<double, 2>& C,
                           std::size_t vectors = std::numeric_limits<std::size_t>::max());

// PCA scores Y V_q (N×q): the rows projected on the top q components.
template <class T>
xt::xtensor<double, 2> pca_scores(const MatrixView<T>& Y, const Pca& pca, std::size_t q);

// The GPLVMs' PCA start (as GPy's): the top-q scores of Y's second moment,
// each column shifted and scaled to zero mean and unit variance (over every
// process's rows: a collective call).
template <class T>
xt::xtensor<double, 2> standardised_pca_scores(const MatrixView<T>& Y, std::size_t q);

}  // namespace latentlab
