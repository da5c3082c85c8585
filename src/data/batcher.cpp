#include "latentlab/data/batcher.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "latentlab/core/thread_pool.hpp"
#include "latentlab/data/shuffle.hpp"

namespace latentlab {

template <class T>
Batcher<T>::Batcher(const Dataset<T>& data, std::size_t batch_size, std::uint64_t seed, std::size_t workers)
    : data_(data), batch_size_(std::max<std::size_t>(1, std::min(batch_size, data.n_train))), seed_(seed),
      workers_(std::max<std::size_t>(1, workers)) {
    buffer_ = xt::xtensor<T, 2>::from_shape({batch_size_, data.dim()});
    sq_buffer_.resize(batch_size_);
    if (data.has_labels()) label_buffer_.resize(batch_size_);
    order_.resize(data.n_train);
    std::iota(order_.begin(), order_.end(), std::size_t{0});
}

template <class T>
void Batcher<T>::start_epoch(long epoch) {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    std::seed_seq seq{static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32),
                      static_cast<std::uint32_t>(epoch), 0xBA7Cu};
    std::mt19937_64 rng(seq);
    shuffle(order_, rng);  // data/shuffle.hpp: the same on every standard library
}

template <class T>
std::size_t Batcher<T>::num_batches() const {
    return (data_.n_train + batch_size_ - 1) / batch_size_;
}

// Rows [begin, end) of the epoch's order into buffer rows from `first`.
template <class T>
void Batcher<T>::gather(std::size_t begin, std::size_t end, std::size_t first) {
    const std::size_t dim = data_.dim();
    const T* src = data_.X.data();
    T* dst = buffer_.data();
    const bool labels = !label_buffer_.empty();
    for (std::size_t r = begin; r < end; ++r) {
        // Rows are scattered over the data set: ask for the row after next
        // while copying this one (~10% faster than the copy alone).
        if (r + 2 < end) {
            const char* p = reinterpret_cast<const char*>(src + order_[r + 2] * dim);
            for (std::size_t c = 0; c < dim * sizeof(T); c += 64) __builtin_prefetch(p + c, 0, 1);
        }
        const std::size_t s = order_[r], b = first + (r - begin);
        std::memcpy(dst + b * dim, src + s * dim, dim * sizeof(T));
        sq_buffer_[b] = data_.sqnorms[s];
        if (labels) label_buffer_[b] = data_.labels[s];
    }
}

template <class T>
MatrixView<T> Batcher<T>::batch(std::size_t i) {
    const std::size_t begin = i * batch_size_;
    const std::size_t rows = std::min(begin + batch_size_, data_.n_train) - begin;
    // Blocks of 32 rows (fixed; any worker may copy any block).
    constexpr std::size_t kBlock = 32;
    run_parts((rows + kBlock - 1) / kBlock, workers_, [&](std::size_t p) {
        const std::size_t r0 = p * kBlock, r1 = std::min(rows, r0 + kBlock);
        gather(begin + r0, begin + r1, r0);
    });
    MatrixView<T> v;
    v.data = buffer_.data();
    v.rows = rows;
    v.cols = data_.dim();
    v.sqnorms = sq_buffer_.data();
    v.labels = label_buffer_.empty() ? nullptr : label_buffer_.data();
    v.index = order_.data() + begin;
    return v;
}

template class Batcher<float>;
template class Batcher<double>;

}  // namespace latentlab
