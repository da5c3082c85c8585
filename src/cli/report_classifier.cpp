// The MLP classifier's report (README, Reproducing the homework: Problem 3):
// accuracy per epoch on the training and test rows, and the final test accuracy.
#include "latentlab/models/mlp.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/train/metrics.hpp"
#include "report.hpp"

namespace latentlab::cli {

namespace {

template <class T>
class ClassifierReport : public ModelReport<T> {
public:
    void check(const Config& cfg, const Dataset<T>& data, Model<T>& model) override {
        if (!data.has_labels())
            throw ConfigError("model.type mlp needs class labels: set data.labels (or use a labelled set: mnist, "
                              "fashion-mnist)");
        for (auto l : data.labels)
            if (l < 0 || l >= cfg.model.classes)
                throw ConfigError("model.classes " + std::to_string(cfg.model.classes) + " is too small: the data have label " +
                                  std::to_string(l));
        auto* mlp = dynamic_cast<Mlp<T>*>(&model);
        if (!mlp) throw Error("internal: classifier report without an Mlp model");
        accuracy_ = std::make_unique<AccuracyMetric<T>>(
            [mlp](const MatrixView<T>& X) { return mlp->accuracy(X); }, data.train(), data.test());
        n_test_ = data.test_all();
    }

    std::vector<Callback<T>*> metrics() override { return {accuracy_.get()}; }

    // The accuracies of the last record (the final parameters).
    void finish(const Config&, const Dataset<T>&, Model<T>&, const TrainResult& result, const std::string&,
                spdlog::logger&, JsonObject& summary, Table& table) override {
        if (result.history.empty()) return;
        for (const auto& [k, v] : result.history.back().metrics) {
            if (k == "train_accuracy") {
                summary.set(k, v);
                table.push_back({"train accuracy", format_fixed(v, 4)});
            } else if (k == "test_accuracy" && n_test_) {
                summary.set(k, v);
                table.push_back({"test accuracy", format_fixed(v, 4) + " (" + std::to_string(n_test_) + " held out)"});
            }
        }
    }

private:
    std::unique_ptr<AccuracyMetric<T>> accuracy_;
    std::size_t n_test_ = 0;
};

}  // namespace

template <class T>
std::unique_ptr<ModelReport<T>> make_classifier_report() {
    return std::make_unique<ClassifierReport<T>>();
}
template std::unique_ptr<ModelReport<float>> make_classifier_report<float>();
template std::unique_ptr<ModelReport<double>> make_classifier_report<double>();

}  // namespace latentlab::cli
