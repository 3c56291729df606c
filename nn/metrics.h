// Classification metrics from true labels and predicted probabilities, as scikit-learn
// computes them, so numbers can be checked against a Python notebook:
//   prediction      argmax of the row; ties go to the lowest class index (numpy.argmax).
//   accuracy        correct / N.
//   top-2 accuracy  the true class is among the two highest probabilities; a class's rank
//                   is the number of classes with a higher probability, or an equal one at
//                   a lower index (the same tie rule as argmax).  K = 1: always 1.
//   confusion       K x K counts, rows = true class, columns = predicted class.
//   precision_c     TP / predicted_c, 0 when class c was never predicted (zero_division=0).
//   recall_c        TP / support_c, 0 when class c has no true sample (zero_division=0).
//   f1_c            2PR / (P + R), 0 when P + R = 0.
//   macro-F1        the mean of f1_c over the classes that occur in the labels OR in the
//                   predictions (sklearn's f1_score(average="macro") with labels=None):
//                   a class that is neither true nor predicted anywhere is left out (it
//                   says nothing), one predicted but absent from the labels counts as 0.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace flowpic {

struct ClassMetrics {
    double precision = 0, recall = 0, f1 = 0;
    uint64_t support = 0;    // true samples of the class (row sum)
    uint64_t predicted = 0;  // samples predicted as the class (column sum)
};

struct Metrics {
    size_t samples = 0;
    double accuracy = 0, top2_accuracy = 0, macro_f1 = 0;
    size_t macro_classes = 0;  // how many classes the macro average is over
    std::vector<ClassMetrics> per_class;
    std::vector<std::vector<uint64_t>> confusion;  // [true][predicted]
};

// probs: N x K row-major.  std::invalid_argument for N = 0, K = 0, a label outside
// [0, K) or a size mismatch.
Metrics compute_metrics(const std::vector<int32_t>& labels, const float* probs, size_t k);
// The same from a confusion matrix alone (no top-2: it needs probabilities; left 0).
Metrics metrics_from_confusion(const std::vector<std::vector<uint64_t>>& confusion);

size_t argmax_row(const float* p, size_t k);

// The confusion matrix as aligned text: a header of predicted classes, one row per true
// class, the row's support on the right.  Names longer than 12 characters are cut.
std::string format_confusion(const Metrics& m, const std::vector<std::string>& classes);
// The per-class table: class, precision, recall, F1, support, then the macro-F1 line.
std::string format_per_class(const Metrics& m, const std::vector<std::string>& classes);
// CSV: "true/predicted,<class>...", then one row per true class.
std::string confusion_csv(const Metrics& m, const std::vector<std::string>& classes);

}  // namespace flowpic
