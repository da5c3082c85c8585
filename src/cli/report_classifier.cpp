// The MLP classifier's report (README, Reproducing the homework: Problem 3):
// accuracy per epoch on the training and test rows, and the final test accuracy.
#include "latentlab/models/mlp.hpp"
#include "latentlab/util/error.hpp"
#include "report.hpp"

namespace latentlab::cli {

namespace {

template <class T>
class ClassifierReport : public ModelReport<T> {
public:
    void prepare(const Config& cfg, const Dataset<T>& data, Model<T>& model, const std::string&, spdlog::logger&,
                 TrainerOptions<T>&) override {
        if (!data.has_labels())
            throw ConfigError("model.type mlp needs class labels: set data.labels (or use a labelled set: mnist, "
                              "fashion-mnist)");
        for (auto l : data.labels)
            if (l < 0 || l >= cfg.model.classes)
                throw ConfigError("model.classes " + std::to_string(cfg.model.classes) + " is too small: the data have label " +
                                  std::to_string(l));
        mlp_ = dynamic_cast<Mlp<T>*>(&model);
        if (!mlp_) throw Error("internal: classifier report without an Mlp model");
        train_ = data.train();
        test_ = data.test();
    }

    std::vector<typename MetricsCsvCallback<T>::Derived> derived_columns() const override {
        return {{"train_accuracy", [this](const EpochRecord&) { return mlp_->accuracy(train_); }},
                {"test_accuracy",
                 [this](const EpochRecord&) { return test_.rows ? mlp_->accuracy(test_) : std::nan(""); }}};
    }

    void finish(const Config&, const Dataset<T>&, Model<T>&, const TrainResult&, const std::string&,
                spdlog::logger&, JsonObject& summary, Table& table) override {
        const double tr = mlp_->accuracy(train_);
        summary.set("train_accuracy", tr);
        table.push_back({"train accuracy", fmt(tr, "%.4f")});
        if (test_.rows) {
            const double te = mlp_->accuracy(test_);
            summary.set("test_accuracy", te);
            table.push_back({"test accuracy", fmt(te, "%.4f") + " (" + std::to_string(test_.rows) + " held out)"});
        }
    }

private:
    Mlp<T>* mlp_ = nullptr;
    MatrixView<T> train_, test_;
};

}  // namespace

template <class T>
std::unique_ptr<ModelReport<T>> make_classifier_report() {
    return std::make_unique<ClassifierReport<T>>();
}
template std::unique_ptr<ModelReport<float>> make_classifier_report<float>();
template std::unique_ptr<ModelReport<double>> make_classifier_report<double>();

}  // namespace latentlab::cli
