// The GPLVMs' reference: PCA to q dimensions of the training rows, its
// leave-one-out 1-NN error, pca_latent.npy and labels.npy. Under several
// processes (core/communicator.hpp) the second moment is summed over the
// ranks and the scores and labels are gathered on rank 0, which scores and
// writes them; the latents to compare are gathered by gather_rows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/analysis/knn.hpp"
#include "latentlab/core/communicator.hpp"
#include "latentlab/data/dataset.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/linalg/pca.hpp"

namespace latentlab::cli {

class PcaReference {
public:
    // Collective. Returns the PCA of every rank's rows.
    template <class T>
    Pca compute(const Dataset<T>& data, std::size_t q) {
        q_ = q;
        const auto Y = data.train();
        // All components (dsyevd), as the GPLVM's PCA start (standardised_pca_scores):
        // the same signs in pca_latent.npy as in the model's starting latents.
        Pca pca = pca_from_second_moment(second_moment_all(Y));
        const xt::xtensor<double, 2> mine = pca_scores(Y, pca, q);
        latent_ = gather_all(mine.data(), mine.size());
        if (data.has_labels()) labels_ = gather_all(Y.labels, Y.rows);
        if (data.has_labels() && world().rank() == 0) knn_ = loo_1nn_error(latent_.data(), labels_.size(), q, labels_.data());
        return pca;
    }
    // Rank 0: pca_latent.npy and labels.npy.
    void write(const std::string& dir) const {
        const std::size_t N = latent_.size() / q_;
        write_npy(dir + "/pca_latent.npy", make_raw<double>(latent_.data(), {N, q_}));
        if (!labels_.empty()) {
            const std::vector<double> lab(labels_.begin(), labels_.end());
            write_npy(dir + "/labels.npy", make_raw<double>(lab.data(), {N}));
        }
    }
    bool has_labels() const { return !labels_.empty(); }
    double knn_error() const { return knn_; }
    // Rank 0: the leave-one-out 1-NN error of every rank's rows X (gathered, N×q).
    double knn_error_of(const std::vector<double>& X) const {
        return loo_1nn_error(X.data(), labels_.size(), q_, labels_.data());
    }

private:
    std::size_t q_ = 1;
    std::vector<double> latent_;        // N×q, every rank's rows (rank 0)
    std::vector<std::int32_t> labels_;  // every rank's rows' labels (rank 0)
    double knn_ = 0;
};

// A block of every rank's rows, gathered in row order on rank 0 (collective).
template <class E>
std::vector<double> gather_rows(const E& local) {
    const xt::xtensor<double, 2> d = local;
    return gather_all(d.data(), d.size());
}

}  // namespace latentlab::cli
