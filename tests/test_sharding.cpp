// Rows held by one MPI rank (README, Several processes: MPI), without MPI:
// the readers keep only a selection of rows (plain IDX, gzip'd IDX, .npy),
// and a Dataset loaded as rank r of K holds exactly rows [first, first +
// count) of the one-process Dataset's training and test rows. The rank is
// played by a Communicator that only reports it (its collectives are never
// reached with an error or centring here).
#include "test_util.hpp"

#include "latentlab/core/communicator.hpp"
#include "latentlab/data/sources.hpp"
#include "latentlab/io/idx.hpp"
#include "latentlab/io/npy.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

struct PlayRank : Communicator {
    PlayRank(int r, int k) : r_(r), k_(k) {}
    int rank() const override { return r_; }
    int size() const override { return k_; }
    int r_, k_;
};
struct AsRank {
    AsRank(int r, int k) { set_world(std::make_unique<PlayRank>(r, k)); }
    ~AsRank() { set_world(nullptr); }
};

RawTensor rows_tensor(std::size_t n, std::size_t d) {
    RawTensor t;
    t.dtype = DType::f64;
    t.shape = {n, d};
    t.bytes.resize(n * d * 8);
    auto* v = reinterpret_cast<double*>(t.bytes.data());
    for (std::size_t i = 0; i < n * d; ++i) v[i] = static_cast<double>(i) * 0.5 - 3.0;
    return t;
}

}  // namespace

TEST(Sharding, ReadersKeepOnlyTheSelectedRows) {
    const RawTensor all = rows_tensor(101, 7);
    const std::string idx = scratch("sharding_readers") + "/rows.idx", npy = scratch("sharding_readers_npy") + "/rows.npy",
                      gz = scratch("sharding_readers_gz") + "/rows.idx.gz";
    write_idx(idx, all);
    write_npy(npy, all);
    gzip_file(gz, slurp(idx));
    const std::vector<std::size_t> want = {0, 1, 2, 17, 40, 41, 99, 100};
    const RowSelect select = [&](std::size_t total) {
        EXPECT_EQ(total, 101u);
        return want;
    };
    for (const RawTensor& t : {read_idx(idx, select), read_idx(gz, select), read_npy(npy, select)}) {
        ASSERT_EQ(t.shape, (std::vector<std::size_t>{want.size(), 7}));
        EXPECT_EQ(t.file_rows, 101u);
        EXPECT_EQ(t.row_ids, want);
        for (std::size_t i = 0; i < want.size(); ++i)
            EXPECT_EQ(0, std::memcmp(t.bytes.data() + i * 56, all.bytes.data() + want[i] * 56, 56)) << i;
    }
    // A selection out of range is refused, naming the file.
    EXPECT_THROW(read_npy(npy, [](std::size_t) { return std::vector<std::size_t>{3, 2}; }), DataError);
    EXPECT_THROW(read_idx(idx, [](std::size_t n) { return std::vector<std::size_t>{n}; }), DataError);
}

TEST(Sharding, EachRankHoldsItsShareOfTheOneProcessRows) {
    const std::string npy = scratch("sharding_data") + "/data.npy";
    write_npy(npy, rows_tensor(203, 5));
    DataOptions opt;
    opt.source = "npy";
    opt.path = npy;
    opt.test_fraction = 0.1;
    opt.limit = 190;
    const Dataset<double> one = load_dataset<double>(opt, 11);
    ASSERT_EQ(one.train_all(), 171u);
    ASSERT_EQ(one.test_all(), 19u);
    for (int K : {2, 3, 4}) {
        std::size_t train_seen = 0, test_seen = 0;
        for (int r = 0; r < K; ++r) {
            AsRank as(r, K);
            const Dataset<double> d = load_dataset<double>(opt, 11);
            EXPECT_EQ(d.train_total, 171u);
            EXPECT_EQ(d.test_total, 19u);
            EXPECT_EQ(d.train_first, train_seen);
            EXPECT_EQ(d.test_first, test_seen);
            EXPECT_EQ(d.rows, one.rows);  // every rank knows every row's origin
            for (std::size_t i = 0; i < d.n_train; ++i)
                EXPECT_EQ(0, std::memcmp(d.train().row(i), one.train().row(d.train_first + i), 5 * sizeof(double)));
            for (std::size_t i = 0; i < d.n_test; ++i)
                EXPECT_EQ(0, std::memcmp(d.test().row(i), one.test().row(d.test_first + i), 5 * sizeof(double)));
            train_seen += d.n_train;
            test_seen += d.n_test;
        }
        EXPECT_EQ(train_seen, 171u);
        EXPECT_EQ(test_seen, 19u);
    }
    // More ranks than training rows: one line, before anything is read.
    opt.limit = 3;
    opt.test_fraction = 0;
    AsRank as(0, 4);
    try {
        load_dataset<double>(opt, 11);
        FAIL() << "4 ranks for 3 rows accepted";
    } catch (const DataError& e) {
        EXPECT_NE(std::string(e.what()).find("3 training samples for 4 processes"), std::string::npos) << e.what();
    }
}

TEST(Sharding, ShardsAreContiguousAndBalanced) {
    for (std::size_t n : {1u, 7u, 1003u})
        for (int K : {1, 2, 3, 4})
            for (int r = 0, next = 0; r < K; ++r) {
                const Shard s = shard(n, r, K);
                EXPECT_EQ(s.first, static_cast<std::size_t>(next));
                EXPECT_LE(s.count, n / K + 1);
                EXPECT_GE(s.count, n / K);
                next += static_cast<int>(s.count);
                if (r == K - 1) {
                    EXPECT_EQ(static_cast<std::size_t>(next), n);
                }
            }
}
