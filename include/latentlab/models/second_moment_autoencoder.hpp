// The tied linear autoencoder trained on the whole data set through its
// second moment (README, "Running any config": model.objective). The
// full-data loss and gradient depend on the data only through C = XᵀX
// (n×n), formed once by a symmetric rank-k update (both cores):
//
//   L(W) = ½ (tr(S (W Wᵀ − 2I)) + tr C) / N,   S = W C Wᵀ (m×m)
//   ∇L   = (S W + (W Wᵀ − 2I) W C) / N
//
// (the batch formulas of linear_autoencoder.hpp with X replaced by C), so an
// evaluation costs O(m n²) whatever N: L-BFGS on the exact loss reaches the
// optimum L* (analysis/pca.hpp) in a fraction of a second. The parameters
// are W as in LinearAutoencoder (same block, same files, same apply()).
#pragma once
#include <vector>

#include "latentlab/models/linear_autoencoder.hpp"

namespace latentlab {

template <class T>
class SecondMomentAutoencoder : public LinearAutoencoder<T> {
public:
    // Its products are OpenBLAS-threaded GEMMs (not the parent's fixed parts).
    bool same_bits_at_any_thread_count() const override { return false; }
    // n_train: the rows of the training set. A view of that many rows is
    // the training set (C is formed from it, again if it moves); any other
    // view (a test split) is evaluated row by row, as LinearAutoencoder does.
    // Under several processes C and the row counts are summed over the ranks.
    // warm_start > 0: init_from_data forms C and takes that many steps of
    // subspace iteration from the random W, W ← rows of W C made orthonormal
    // (Cholesky QR, twice), which moves W toward the top of C's spectrum
    // (Golub & Van Loan, Matrix Computations, §8.2.4); L-BFGS then finishes.
    SecondMomentAutoencoder(std::size_t input_dim, std::size_t latent_dim, double init_scale, std::size_t n_train,
                            int warm_start = 0)
        : LinearAutoencoder<T>(input_dim, latent_dim, init_scale), n_train_(n_train), warm_start_(warm_start) {}

    void init_from_data(const MatrixView<T>& X, std::mt19937_64& rng) override;

    bool separable() const override { return false; }
    double loss(const MatrixView<T>& X) override;
    double loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) override;

private:
    double evaluate(const MatrixView<T>& X, T* grad);
    double loss_of_rows(const MatrixView<T>& X);
    bool is_training_set(const MatrixView<T>& X) const;
    void form_second_moment(const MatrixView<T>& X);  // C_ of X, unless already of it

    std::size_t n_train_;
    int warm_start_ = 0;
    std::vector<double> C_;  // n×n, XᵀX
    double trace_C_ = 0;
    const T* C_of_ = nullptr;
    std::size_t C_rows_ = 0;
    std::size_t N_all_ = 0;  // rows of C over every process
};

}  // namespace latentlab
