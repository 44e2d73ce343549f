// The concrete metrics. Per-batch functions run on the batch's device; the scikit-learn
// equivalents (precision / recall / F-beta / MCC from class counts, ROC AUC from ranks with
// ties counted half) read the pass's predictions back once and count on the host.
#include "fastai/learner/metrics.h"

#include "fastai/core/error.h"
#include "fastai/learner/learner.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace fastai {

namespace metrics_detail {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::pair<at::Tensor, at::Tensor> flatten_check(const at::Tensor& inp, const at::Tensor& targ, const char* metric) {
  FA_CHECK(inp.numel() == targ.numel(), metric, ": predictions of shape ", inp.sizes(), " and targets of shape ",
           targ.sizes(), " have different numbers of elements (", inp.numel(), " vs ", targ.numel(), ")");
  return {inp.reshape({-1}), targ.reshape({-1})};
}

// Targets as float in the predictions' dtype (regression metrics take integer targets too).
at::Tensor floatify(const at::Tensor& t, const at::Tensor& like) {
  return t.to(like.is_floating_point() ? like.scalar_type() : at::kFloat);
}

// Class labels on the host; floating targets must hold whole numbers (scikit-learn refuses
// continuous targets for classification scores).
std::vector<int64_t> host_labels(const at::Tensor& t, const char* metric, const char* what) {
  at::Tensor c = t.detach().to(at::kCPU).reshape({-1});
  if (c.is_floating_point()) {
    at::Tensor d = c.to(at::kDouble).contiguous();
    const double* p = d.data_ptr<double>();
    for (int64_t i = 0; i < d.numel(); ++i)
      FA_CHECK(std::isfinite(p[i]) && p[i] == std::floor(p[i]), metric, ": the ", what,
               " must be class indices, but item ", i, " is ", p[i]);
  }
  c = c.to(at::kLong).contiguous();
  const int64_t* p = c.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

std::vector<double> host_doubles(const at::Tensor& t) {
  at::Tensor c = t.detach().to(at::kCPU, at::kDouble).reshape({-1}).contiguous();
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

const char* average_name(Average a) {
  switch (a) {
    case Average::Binary: return "binary";
    case Average::Micro: return "micro";
    case Average::Macro: return "macro";
    case Average::Weighted: return "weighted";
  }
  return "?";
}

// Per-class counts over the labels occurring in the targets or the predictions (scikit-learn's
// unique_labels), sorted.
struct ClassCounts {
  std::vector<int64_t> labels;
  std::vector<double> tp, pred_sum, true_sum;
  double n = 0, correct = 0;
};

ClassCounts count_classes(const std::vector<int64_t>& pred, const std::vector<int64_t>& targ) {
  ClassCounts c;
  c.labels = pred;
  c.labels.insert(c.labels.end(), targ.begin(), targ.end());
  std::sort(c.labels.begin(), c.labels.end());
  c.labels.erase(std::unique(c.labels.begin(), c.labels.end()), c.labels.end());
  const size_t L = c.labels.size();
  c.tp.assign(L, 0);
  c.pred_sum.assign(L, 0);
  c.true_sum.assign(L, 0);
  auto idx = [&](int64_t v) {
    return static_cast<size_t>(std::lower_bound(c.labels.begin(), c.labels.end(), v) - c.labels.begin());
  };
  for (size_t i = 0; i < pred.size(); ++i) {
    const size_t ip = idx(pred[i]), it = idx(targ[i]);
    c.pred_sum[ip] += 1;
    c.true_sum[it] += 1;
    if (ip == it) {
      c.tp[ip] += 1;
      c.correct += 1;
    }
  }
  c.n = static_cast<double>(pred.size());
  return c;
}

enum class Score { Precision, Recall, FBeta };

double ratio(double num, double den) { return den == 0 ? 0.0 : num / den; }  // zero_division=0

double fbeta_of(double p, double r, double beta2) {
  const double den = beta2 * p + r;
  return den == 0 ? 0.0 : (1 + beta2) * p * r / den;
}

// scikit-learn's precision_recall_fscore_support followed by its averaging.
double prf_score(const at::Tensor& preds, const at::Tensor& targs, Score which, double beta, ScoreOptions o,
                 const char* metric) {
  const auto p = host_labels(preds, metric, "predictions");
  const auto t = host_labels(targs, metric, "targets");
  ClassCounts c = count_classes(p, t);
  const double beta2 = beta * beta;
  auto score = [&](double tp, double ps, double ts) {
    const double prec = ratio(tp, ps), rec = ratio(tp, ts);
    return which == Score::Precision ? prec : which == Score::Recall ? rec : fbeta_of(prec, rec, beta2);
  };
  switch (o.average) {
    case Average::Binary: {
      FA_CHECK(c.labels.size() <= 2, metric, ": average=binary needs at most 2 classes, but the targets and "
               "predictions hold ", c.labels.size(), "; pass {.average = Average::Macro} (or Micro, Weighted)");
      auto it = std::find(c.labels.begin(), c.labels.end(), o.pos_label);
      FA_CHECK(c.labels.size() < 2 || it != c.labels.end(), metric, ": pos_label=", o.pos_label,
               " is not one of the classes (", c.labels.front(), ", ", c.labels.back(), ")");
      if (it == c.labels.end()) return score(0, 0, 0);
      const size_t k = static_cast<size_t>(it - c.labels.begin());
      return score(c.tp[k], c.pred_sum[k], c.true_sum[k]);
    }
    case Average::Micro: {
      const double tp = std::accumulate(c.tp.begin(), c.tp.end(), 0.0);
      const double ps = std::accumulate(c.pred_sum.begin(), c.pred_sum.end(), 0.0);
      const double ts = std::accumulate(c.true_sum.begin(), c.true_sum.end(), 0.0);
      return score(tp, ps, ts);
    }
    case Average::Macro:
    case Average::Weighted: {
      if (c.labels.empty()) return 0.0;
      double num = 0, den = 0;
      for (size_t k = 0; k < c.labels.size(); ++k) {
        const double w = o.average == Average::Macro ? 1.0 : c.true_sum[k];
        num += w * score(c.tp[k], c.pred_sum[k], c.true_sum[k]);
        den += w;
      }
      return den == 0 ? 0.0 : num / den;
    }
  }
  return kNaN;
}

// scikit-learn's matthews_corrcoef (multi-class form; 0 when a marginal is constant).
double mcc_score(const at::Tensor& preds, const at::Tensor& targs) {
  const auto p = host_labels(preds, "matthews_corrcoef", "predictions");
  const auto t = host_labels(targs, "matthews_corrcoef", "targets");
  ClassCounts c = count_classes(p, t);
  double tp_dot = 0, pp = 0, tt = 0;
  for (size_t k = 0; k < c.labels.size(); ++k) {
    tp_dot += c.true_sum[k] * c.pred_sum[k];
    pp += c.pred_sum[k] * c.pred_sum[k];
    tt += c.true_sum[k] * c.true_sum[k];
  }
  const double cov_ytyp = c.correct * c.n - tp_dot;
  const double cov_ypyp = c.n * c.n - pp;
  const double cov_ytyt = c.n * c.n - tt;
  if (cov_ypyp * cov_ytyt == 0) return 0.0;
  return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}

// Area under the ROC curve of `score` for the items with pos[i] true: the Mann-Whitney
// statistic with average ranks for ties, which equals scikit-learn's trapezoidal area.
// NaN when there are no positives or no negatives.
double binary_auc(const std::vector<double>& score, const std::vector<char>& pos) {
  const size_t n = score.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  double n_pos = 0, rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && score[order[j]] == score[order[i]]) ++j;
    const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;  // ranks i+1..j
    for (size_t k = i; k < j; ++k)
      if (pos[order[k]]) {
        n_pos += 1;
        rank_sum += avg_rank;
      }
    i = j;
  }
  const double n_neg = static_cast<double>(n) - n_pos;
  if (n_pos == 0 || n_neg == 0) return kNaN;
  return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg);
}

// One-vs-rest ROC AUC of (N, C) probabilities, averaged over the classes.
double roc_auc_ovr(const at::Tensor& probs, const at::Tensor& targs, int64_t axis, Average average) {
  FA_CHECK(probs.dim() >= 1, "roc_auc_score: predictions need a class dimension, got shape ", probs.sizes());
  const at::Tensor pr = probs.movedim(axis, -1);
  const int64_t C = pr.size(-1);
  const at::Tensor p2 = pr.reshape({-1, C});
  const int64_t N = p2.size(0);
  FA_CHECK(targs.numel() == N, "roc_auc_score: ", N, " predictions (shape ", probs.sizes(), ") but ",
           targs.numel(), " targets (shape ", targs.sizes(), ")");
  const auto t = host_labels(targs, "roc_auc_score", "targets");
  for (size_t i = 0; i < t.size(); ++i)
    FA_CHECK(t[i] >= 0 && t[i] < C, "roc_auc_score: target ", t[i], " (item ", i, ") is not a class index in [0, ",
             C, ")");
  const auto s = host_doubles(p2);  // row-major (N, C)
  double num = 0, den = 0;
  std::vector<double> col(static_cast<size_t>(N));
  std::vector<char> pos(static_cast<size_t>(N));
  for (int64_t k = 0; k < C; ++k) {
    double n_k = 0;
    for (int64_t i = 0; i < N; ++i) {
      col[i] = s[static_cast<size_t>(i * C + k)];
      pos[i] = t[i] == k;
      n_k += pos[i];
    }
    if (n_k == 0) return kNaN;  // scikit-learn: the targets must hold every class of the predictions
    const double auc = binary_auc(col, pos);
    if (std::isnan(auc)) return kNaN;
    const double w = average == Average::Weighted ? n_k : 1.0;
    num += w * auc;
    den += w;
  }
  return den == 0 ? kNaN : num / den;
}

// ROC AUC of one score per item against two classes (the larger label is the positive one).
double roc_auc_binary(const at::Tensor& scores, const at::Tensor& targs) {
  const auto t = host_labels(targs, "roc_auc_score", "targets");
  const auto s = host_doubles(scores);
  std::vector<int64_t> labels = t;
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  FA_CHECK(labels.size() <= 2, "roc_auc_score (RocAucBinary): the targets hold ", labels.size(),
           " classes; use RocAuc() for more than two");
  if (labels.size() < 2) return kNaN;
  std::vector<char> pos(t.size());
  for (size_t i = 0; i < t.size(); ++i) pos[i] = t[i] == labels[1];
  return binary_auc(s, pos);
}

// scikit-learn's r2_score with force_finite: constant targets give 1 (perfect fit) or 0.
double r2(const at::Tensor& preds, const at::Tensor& targs) {
  const at::Tensor p = preds.to(at::kDouble), t = targs.to(at::kDouble);
  const at::Tensor both = at::stack({(t - p).pow(2).sum(), (t - t.mean()).pow(2).sum()}).to(at::kCPU);
  const double ss_res = both[0].item<double>(), ss_tot = both[1].item<double>();
  if (ss_tot == 0) return ss_res == 0 ? 1.0 : 0.0;
  return 1 - ss_res / ss_tot;
}

}  // namespace metrics_detail

// ---- per-batch functions -----------------------------------------------------------------

MetricFunc Accuracy(int64_t axis) {
  return {"accuracy", [axis](const at::Tensor& inp, const at::Tensor& targ) {
            auto [p, t] = metrics_detail::flatten_check(inp.argmax(axis), targ, "accuracy");
            return (p == t).to(at::kFloat).mean();
          }};
}

MetricFunc ErrorRate(int64_t axis) {
  return {"error_rate", [axis](const at::Tensor& inp, const at::Tensor& targ) {
            auto [p, t] = metrics_detail::flatten_check(inp.argmax(axis), targ, "error_rate");
            return 1 - (p == t).to(at::kFloat).mean();
          }};
}

MetricFunc TopKAccuracy(int64_t k, int64_t axis) {
  FA_CHECK(k >= 1, "top_k_accuracy: k must be at least 1, got ", k);
  return {"top_k_accuracy", [k, axis](const at::Tensor& inp, const at::Tensor& targ) {
            FA_CHECK(inp.dim() >= 1 && k <= inp.size(axis), "top_k_accuracy: k=", k,
                     " is more than the number of classes of predictions of shape ", inp.sizes());
            const at::Tensor idx = std::get<1>(inp.topk(k, axis));
            const at::Tensor t = targ.unsqueeze(axis < 0 ? axis + inp.dim() : axis);
            FA_CHECK(t.numel() * k == idx.numel(), "top_k_accuracy: predictions of shape ", inp.sizes(),
                     " do not match targets of shape ", targ.sizes());
            return (idx == t.expand_as(idx)).sum(axis).to(at::kFloat).mean();
          }};
}

MetricFunc AccuracyMulti(double thresh, bool sigmoid) {
  return {"accuracy_multi", [thresh, sigmoid](const at::Tensor& inp, const at::Tensor& targ) {
            auto [p, t] = metrics_detail::flatten_check(inp, targ, "accuracy_multi");
            if (sigmoid) p = at::sigmoid(p);
            return ((p > thresh) == t.to(at::kBool)).to(at::kFloat).mean();
          }};
}

MetricFunc MSE() {
  return {"mse", [](const at::Tensor& inp, const at::Tensor& targ) {
            auto [p, t] = metrics_detail::flatten_check(inp, targ, "mse");
            return (p - metrics_detail::floatify(t, p)).pow(2).mean();
          }};
}

MetricFunc MAE() {
  return {"mae", [](const at::Tensor& inp, const at::Tensor& targ) {
            auto [p, t] = metrics_detail::flatten_check(inp, targ, "mae");
            return (p - metrics_detail::floatify(t, p)).abs().mean();
          }};
}

MetricFunc MSLE() {
  return {"msle", [](const at::Tensor& inp, const at::Tensor& targ) {
            auto [p, t] = metrics_detail::flatten_check(inp, targ, "msle");
            return (at::log1p(p) - at::log1p(metrics_detail::floatify(t, p))).pow(2).mean();
          }};
}

// ---- metrics over the whole pass ---------------------------------------------------------

namespace metrics_detail {

AccumMetric score_metric(const char* name, Score which, double beta, ScoreOptions o) {
  return AccumMetric([=](const at::Tensor& p, const at::Tensor& t) { return prf_score(p, t, which, beta, o, name); },
                     name, {.dim_argmax = o.axis});
}

}  // namespace metrics_detail

AccumMetric Precision(ScoreOptions o) {
  return metrics_detail::score_metric("precision_score", metrics_detail::Score::Precision, 1.0, o);
}
AccumMetric Recall(ScoreOptions o) {
  return metrics_detail::score_metric("recall_score", metrics_detail::Score::Recall, 1.0, o);
}
AccumMetric F1Score(ScoreOptions o) {
  return metrics_detail::score_metric("f1_score", metrics_detail::Score::FBeta, 1.0, o);
}
AccumMetric FBeta(double beta, ScoreOptions o) {
  FA_CHECK(beta >= 0 && std::isfinite(beta), "FBeta: beta must be a finite number >= 0, got ", beta);
  return metrics_detail::score_metric("fbeta_score", metrics_detail::Score::FBeta, beta, o);
}

AccumMetric MatthewsCorrCoef(int64_t axis) {
  return AccumMetric(metrics_detail::mcc_score, "matthews_corrcoef", {.dim_argmax = axis});
}

AccumMetric RocAuc(RocAucOptions o) {
  FA_CHECK(o.average == Average::Macro || o.average == Average::Weighted,
           "RocAuc: average must be Macro or Weighted for one-vs-rest, got ", metrics_detail::average_name(o.average));
  return AccumMetric(
      [o](const at::Tensor& p, const at::Tensor& t) { return metrics_detail::roc_auc_ovr(p, t, o.axis, o.average); },
      "roc_auc_score", {.dim_argmax = o.axis, .activation = Activation::Softmax, .flatten = false});
}

AccumMetric RocAucBinary(int64_t axis) {
  return AccumMetric(metrics_detail::roc_auc_binary, "roc_auc_score",
                     {.dim_argmax = axis, .activation = Activation::BinarySoftmax});
}

AccumMetric RMSE() {
  return AccumMetric(
      [](const at::Tensor& p, const at::Tensor& t) {
        return (p.to(at::kDouble) - t.to(at::kDouble)).pow(2).mean().sqrt().item<double>();
      },
      "_rmse");
}

AccumMetric ExpRMSPE() {
  return AccumMetric(
      [](const at::Tensor& p, const at::Tensor& t) {
        const at::Tensor ep = p.to(at::kDouble).exp(), et = t.to(at::kDouble).exp();
        return ((et - ep) / et).pow(2).mean().sqrt().item<double>();
      },
      "_exp_rmspe");
}

AccumMetric R2Score() { return AccumMetric(metrics_detail::r2, "r2_score"); }

// ---- Dice, JaccardCoeff, Perplexity --------------------------------------------------------

void Dice::reset() { counts_ = at::Tensor(); }

void Dice::accumulate(const Learner& learn) {
  FA_CHECK(!learn.yb.empty() && learn.yb[0].defined(), "metric '", name(), "' needs a target, but the batch has none");
  accumulate(learn.pred, learn.yb[0]);
}

void Dice::accumulate(const at::Tensor& pred, const at::Tensor& targ) {
  FA_CHECK(pred.defined() && targ.defined() && pred.dim() >= 1, "metric '", name(),
           "': needs predictions with a class dimension and targets");
  const std::string nm = name();
  auto [p, t] = metrics_detail::flatten_check(pred.detach().argmax(axis_), targ.detach(), nm.c_str());
  const at::Tensor pd = p.to(at::kDouble), td = t.to(at::kDouble);
  const at::Tensor c = at::stack({(pd * td).sum(), (pd + td).sum()});
  if (!counts_.defined())
    counts_ = c;
  else
    counts_.add_(c);
}

std::pair<double, double> Dice::inter_union() const {
  if (!counts_.defined()) return {0.0, 0.0};
  const at::Tensor h = counts_.to(at::kCPU);
  return {h[0].item<double>(), h[1].item<double>()};
}

double Dice::value() const {
  const auto [inter, uni] = inter_union();
  return uni > 0 ? 2.0 * inter / uni : metrics_detail::kNaN;
}

double JaccardCoeff::value() const {
  const auto [inter, uni] = inter_union();
  return uni > 0 ? inter / (uni - inter) : metrics_detail::kNaN;
}

double Perplexity::value() const { return std::exp(AvgLoss::value()); }

}  // namespace fastai
