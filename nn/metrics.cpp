#include "nn/metrics.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace flowpic {

size_t argmax_row(const float* p, size_t k) {
    size_t best = 0;
    for (size_t j = 1; j < k; ++j)
        if (p[j] > p[best]) best = j;  // strict: the lowest index wins a tie
    return best;
}

Metrics metrics_from_confusion(const std::vector<std::vector<uint64_t>>& confusion) {
    const size_t k = confusion.size();
    if (k == 0) throw std::invalid_argument("metrics: no classes");
    Metrics m;
    m.confusion = confusion;
    m.per_class.resize(k);
    uint64_t total = 0, correct = 0;
    for (size_t t = 0; t < k; ++t) {
        if (confusion[t].size() != k) throw std::invalid_argument("metrics: confusion matrix is not square");
        for (size_t p = 0; p < k; ++p) {
            total += confusion[t][p];
            m.per_class[t].support += confusion[t][p];
            m.per_class[p].predicted += confusion[t][p];
        }
        correct += confusion[t][t];
    }
    if (total == 0) throw std::invalid_argument("metrics: no samples");
    m.samples = size_t(total);
    m.accuracy = double(correct) / double(total);
    double f1_sum = 0;
    for (size_t c = 0; c < k; ++c) {
        ClassMetrics& cm = m.per_class[c];
        const double tp = double(confusion[c][c]);
        cm.precision = cm.predicted ? tp / double(cm.predicted) : 0.0;
        cm.recall = cm.support ? tp / double(cm.support) : 0.0;
        cm.f1 = cm.precision + cm.recall > 0 ? 2 * cm.precision * cm.recall / (cm.precision + cm.recall) : 0.0;
        if (cm.support || cm.predicted) {
            f1_sum += cm.f1;
            ++m.macro_classes;
        }
    }
    m.macro_f1 = m.macro_classes ? f1_sum / double(m.macro_classes) : 0.0;
    return m;
}

Metrics compute_metrics(const std::vector<int32_t>& labels, const float* probs, size_t k) {
    if (k == 0) throw std::invalid_argument("metrics: no classes");
    if (labels.empty()) throw std::invalid_argument("metrics: no samples");
    std::vector<std::vector<uint64_t>> confusion(k, std::vector<uint64_t>(k, 0));
    uint64_t top2 = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
        const int32_t t = labels[i];
        if (t < 0 || size_t(t) >= k) throw std::invalid_argument("metrics: label " + std::to_string(t) + " out of range");
        const float* p = probs + i * k;
        ++confusion[size_t(t)][argmax_row(p, k)];
        size_t rank = 0;  // classes ranked above the true one
        for (size_t j = 0; j < k; ++j)
            if (p[j] > p[t] || (p[j] == p[t] && j < size_t(t))) ++rank;
        top2 += rank < 2;
    }
    Metrics m = metrics_from_confusion(confusion);
    m.top2_accuracy = double(top2) / double(labels.size());
    return m;
}

namespace {

std::string cut(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 1) + "~"; }

}  // namespace

std::string format_confusion(const Metrics& m, const std::vector<std::string>& classes) {
    const size_t k = m.confusion.size();
    size_t name_w = 4, cell_w = 5;  // "true", and room for 5-digit counts
    for (size_t c = 0; c < k; ++c) {
        name_w = std::max(name_w, cut(classes.at(c), 12).size());
        cell_w = std::max(cell_w, cut(classes[c], 12).size());
        for (uint64_t v : m.confusion[c]) cell_w = std::max(cell_w, std::to_string(v).size());
    }
    std::string out;
    char buf[64];
    auto cell = [&](const std::string& s, size_t w, bool left) {
        std::snprintf(buf, sizeof buf, left ? "%-*s" : "%*s", int(w), s.c_str());
        out += buf;
    };
    out += "rows: true class, columns: predicted class\n";
    cell("", name_w, true);
    for (size_t c = 0; c < k; ++c) {
        out += ' ';
        cell(cut(classes[c], 12), cell_w, false);
    }
    out += "  support\n";
    for (size_t t = 0; t < k; ++t) {
        cell(cut(classes[t], 12), name_w, true);
        for (size_t p = 0; p < k; ++p) {
            out += ' ';
            cell(std::to_string(m.confusion[t][p]), cell_w, false);
        }
        out += "  ";
        out += std::to_string(m.per_class[t].support);
        out += '\n';
    }
    return out;
}

std::string format_per_class(const Metrics& m, const std::vector<std::string>& classes) {
    size_t name_w = 5;
    for (size_t c = 0; c < m.per_class.size(); ++c) name_w = std::max(name_w, classes.at(c).size());
    std::string out;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-*s %9s %9s %9s %9s\n", int(name_w), "class", "precision", "recall", "f1", "support");
    out += buf;
    for (size_t c = 0; c < m.per_class.size(); ++c) {
        const ClassMetrics& cm = m.per_class[c];
        std::snprintf(buf, sizeof buf, "%-*s %9.4f %9.4f %9.4f %9llu\n", int(name_w), classes[c].c_str(), cm.precision,
                      cm.recall, cm.f1, (unsigned long long)cm.support);
        out += buf;
    }
    std::snprintf(buf, sizeof buf, "%-*s %9s %9s %9.4f %9zu  (over %zu classes)\n", int(name_w), "macro", "", "",
                  m.macro_f1, m.samples, m.macro_classes);
    out += buf;
    return out;
}

std::string confusion_csv(const Metrics& m, const std::vector<std::string>& classes) {
    auto quote = [](const std::string& s) {
        if (s.find_first_of(",\"\n") == std::string::npos) return s;
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    };
    std::string out = "true/predicted";
    for (size_t c = 0; c < m.confusion.size(); ++c) out += "," + quote(classes.at(c));
    out += '\n';
    for (size_t t = 0; t < m.confusion.size(); ++t) {
        out += quote(classes[t]);
        for (uint64_t v : m.confusion[t]) out += "," + std::to_string(v);
        out += '\n';
    }
    return out;
}

}  // namespace flowpic
