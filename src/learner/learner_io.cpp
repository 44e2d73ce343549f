// Evaluation (validate, get_preds, predict), persistence (save/load) and summary.
#include "fastai/core/error.h"
#include "fastai/core/files.h"
#include "fastai/learner/learner.h"
#include "fastai/learner/progress.h"
#include "fastai/learner/recorder.h"

#include <torch/torch.h>

#include <set>
#include <sstream>

namespace fastai {

namespace learner_io_detail {

// Silences the Recorder and the progress bar for one pass (fastai's validation_context).
struct Quiet {
  std::vector<std::pair<Callback*, bool>> saved;
  Quiet(Learner& l) {
    for (Callback* c : {static_cast<Callback*>(l.recorder.get()), static_cast<Callback*>(l.progress.get())})
      if (c) {
        saved.emplace_back(c, c->run);
        c->run = false;
      }
  }
  ~Quiet() {
    for (auto& [c, r] : saved) c->run = r;
  }
};

class ValidStats : public Callback {
 public:
  explicit ValidStats(std::vector<std::shared_ptr<Metric>> ms) : metrics(std::move(ms)) {}
  void before_validate(Learner&) override {
    loss.reset();
    for (auto& m : metrics) m->reset();
  }
  void after_batch(Learner& l) override {
    if (l.yb.empty() || !l.loss.defined()) return;
    loss.accumulate(l);
    for (auto& m : metrics) m->accumulate(l);
  }
  AvgLoss loss;
  std::vector<std::shared_ptr<Metric>> metrics;
};

class GatherPreds : public Callback {
 public:
  GatherPreds(bool with_input, bool with_loss) : with_input_(with_input), with_loss_(with_loss) {}
  void after_batch(Learner& l) override {
    if (!l.pred.defined()) return;
    preds.push_back(l.pred.detach());
    if (!l.yb.empty()) targs.push_back(l.yb[0].detach());
    if (with_input_) {
      if (inputs.empty()) inputs.resize(l.xb.size());
      for (size_t i = 0; i < l.xb.size() && i < inputs.size(); ++i) inputs[i].push_back(l.xb[i].detach());
    }
    if (with_loss_ && l.loss.defined()) {
      const int64_t bs = find_bs(l.yb, l.pred);
      losses.push_back(l.loss.numel() == bs ? l.loss : l.loss.reshape({bs, -1}).mean(1));
    }
  }
  std::vector<at::Tensor> preds, targs, losses;
  std::vector<std::vector<at::Tensor>> inputs;

 private:
  bool with_input_, with_loss_;
};

at::Tensor cat_or_undef(const std::vector<at::Tensor>& ts) {
  return ts.empty() ? at::Tensor() : torch::cat(ts, 0);
}

}  // namespace learner_io_detail

void Learner::quiet_validate(DataLoader* d, const std::shared_ptr<Callback>& extra) {
  learner_io_detail::Quiet quiet(*this);
  model.module->to(dls.device());
  const bool was_training = training;
  add_cb(extra);
  try {
    do_epoch_validate(1, d);
  } catch (...) {
    remove_cb(extra);
    training = was_training;
    throw;
  }
  remove_cb(extra);
  training = was_training;
  dl = nullptr;
}

std::vector<double> Learner::validate(int ds_idx, std::shared_ptr<DataLoader> d) {
  if (!d) {
    FA_CHECK(ds_idx >= 0 && static_cast<size_t>(ds_idx) < dls.n_loaders(), "validate: no loader at index ", ds_idx,
             " (the DataLoaders hold ", dls.n_loaders(), ")");
    d = dls[static_cast<size_t>(ds_idx)];
  }
  auto stats = std::make_shared<learner_io_detail::ValidStats>(metrics);
  quiet_validate(d.get(), stats);
  std::vector<double> out{stats->loss.value()};
  for (auto& m : stats->metrics) out.push_back(m->value());
  return out;
}

Preds Learner::get_preds(GetPredsOptions o) {
  std::shared_ptr<DataLoader> d = o.dl;
  if (!d) {
    FA_CHECK(o.ds_idx >= 0 && static_cast<size_t>(o.ds_idx) < dls.n_loaders(), "get_preds: no loader at index ",
             o.ds_idx, " (the DataLoaders hold ", dls.n_loaders(), ")");
    d = dls[static_cast<size_t>(o.ds_idx)]->new_with(/*shuffle=*/false, /*drop_last=*/false);
  }
  const Reduction old_red = loss_func.reduction;
  if (o.with_loss) {
    FA_CHECK(loss_func.supports_reduction, "get_preds(with_loss): loss_func '", loss_func.name,
             "' has no unreduced form; use a fastai loss such as CrossEntropyLossFlat()");
    loss_func.reduction = Reduction::None;
  }
  auto g = std::make_shared<learner_io_detail::GatherPreds>(o.with_input, o.with_loss);
  try {
    quiet_validate(d.get(), g);
  } catch (...) {
    loss_func.reduction = old_red;
    throw;
  }
  loss_func.reduction = old_red;

  Preds out;
  out.preds = learner_io_detail::cat_or_undef(g->preds);
  out.targs = learner_io_detail::cat_or_undef(g->targs);
  out.losses = learner_io_detail::cat_or_undef(g->losses);
  for (auto& in : g->inputs) out.inputs.push_back(learner_io_detail::cat_or_undef(in));
  auto act = o.act ? o.act : loss_func.activation;
  if (act && out.preds.defined()) out.preds = act(out.preds);
  if (o.with_decoded && out.preds.defined()) out.decoded = loss_func.decodes ? loss_func.decodes(out.preds) : out.preds;
  auto order = d->last_order();
  if (o.reorder && !order.empty() && out.preds.defined()) {
    auto idx = torch::argsort(torch::tensor(order, torch::kLong)).to(out.preds.device());
    auto re = [&](at::Tensor& t) {
      if (t.defined() && t.size(0) == idx.size(0)) t = t.index_select(0, idx.to(t.device()));
    };
    re(out.preds), re(out.targs), re(out.decoded), re(out.losses);
    for (auto& t : out.inputs) re(t);
  }
  return out;
}

Prediction Learner::predict(const at::Tensor& item) {
  FA_CHECK(item.defined(), "predict: the item is an undefined tensor");
  model.module->to(dls.device());
  model.module->eval();
  torch::NoGradGuard no_grad;
  at::Tensor raw;
  try {
    raw = model.forward({item.unsqueeze(0).to(dls.device())});
  } catch (const c10::Error& e) {
    std::ostringstream os;
    os << item.sizes();
    fail("predict: the model failed on an item of shape ", os.str(), " (given without a batch dimension): ",
         e.what_without_backtrace());
  }
  Prediction p;
  p.raw = raw.squeeze(0);
  p.probs = loss_func.activation ? loss_func.activation(raw).squeeze(0) : p.raw;
  p.decoded = loss_func.decodes ? loss_func.decodes(loss_func.activation ? loss_func.activation(raw) : raw).squeeze(0) : p.probs;
  return p;
}

// ---- save / load ---------------------------------------------------------------------------

std::filesystem::path Learner::save(const std::string& name, bool with_opt) {
  FA_CHECK(!name.empty(), "save: the file name is empty");
  const auto file = path / model_dir / (name + ".pth");
  torch::serialize::OutputArchive ar;
  for (auto& p : model.module->named_parameters()) ar.write("model." + p.key(), p.value());
  for (auto& bf : model.module->named_buffers()) ar.write("model." + bf.key(), bf.value(), /*is_buffer=*/true);
  if (with_opt && opt)
    for (auto& [k, t] : opt->state_dict()) ar.write("opt." + k, t);
  atomic_write(file, [&](const std::filesystem::path& tmp) { ar.save_to(tmp.string()); });
  return file;
}

void Learner::load(const std::string& name, std::optional<bool> with_opt, bool strict) {
  const auto file = path / model_dir / (name + ".pth");
  FA_CHECK(std::filesystem::exists(file), "load: no file ", file, " (Learner::save(\"", name, "\") writes it)");
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(file.string());
  } catch (const c10::Error& e) {
    fail("load: cannot read ", file, " (not a file written by Learner::save?): ", e.what_without_backtrace());
  }
  std::set<std::string> model_keys;
  torch::NoGradGuard no_grad;
  auto read_into = [&](const std::string& key, at::Tensor& dst, bool buffer) {
    model_keys.insert(key);
    at::Tensor t;
    if (!ar.try_read(key, t, buffer)) {
      FA_CHECK(!strict, "load: ", file, " has no entry '", key, "' that the model needs (strict load)");
      return;
    }
    FA_CHECK(t.sizes() == dst.sizes(), "load: entry '", key, "' in ", file, " has shape ", t.sizes(),
             " but the model's is ", dst.sizes());
    dst.copy_(t);
  };
  for (auto& p : model.module->named_parameters()) read_into("model." + p.key(), p.value(), false);
  for (auto& bf : model.module->named_buffers()) read_into("model." + bf.key(), bf.value(), true);
  StateDict sd;
  for (auto& k : ar.keys()) {
    if (k.rfind("model.", 0) == 0) {
      FA_CHECK(!strict || model_keys.count(k), "load: ", file, " has entry '", k, "' that the model does not have (strict load)");
    } else if (k.rfind("opt.", 0) == 0) {
      at::Tensor t;
      ar.read(k, t);
      sd.emplace_back(k.substr(4), t);
    }
  }
  if (with_opt.value_or(true)) {
    FA_CHECK(!sd.empty() || !with_opt.has_value(), "load(with_opt=true): ", file, " holds no optimizer state");
    if (!sd.empty()) {
      if (!opt) create_opt();
      auto params = opt->all_params();
      const auto dev = params.empty() ? c10::Device(c10::kCPU) : params[0].device();
      for (auto& kv : sd) kv.second = kv.second.to(dev);
      opt->load_state_dict(sd);
    }
  }
}

std::vector<std::string> Learner::metric_names() const {
  if (recorder) return recorder->metric_names(*this);
  std::vector<std::string> names{"epoch", "train_loss", "valid_loss"};
  for (auto& m : metrics) names.push_back(m->name());
  names.push_back("time");
  return names;
}

std::string Learner::summary() const {
  std::ostringstream os;
  int64_t total = 0, trainable = 0;
  for (auto& p : model.module->parameters()) {
    total += p.numel();
    if (p.requires_grad()) trainable += p.numel();
  }
  os << model.module->name() << "\n";
  os << "Total params: " << total << "\nTotal trainable params: " << trainable
     << "\nTotal non-trainable params: " << (total - trainable) << "\n";
  if (opt) {
    os << "Optimizer: " << opt->n_groups() << " parameter group(s), frozen up to group " << opt->frozen_idx() << "\n";
    for (size_t g = 0; g < opt->n_groups(); ++g) {
      os << "  group " << g << ":";
      for (auto& [k, v] : opt->param_groups()[g].hypers) os << " " << k << "=" << v;
      os << "\n";
    }
  } else {
    os << "Optimizer: not created yet\n";
  }
  os << "Loss function: " << loss_func.name << "\nCallbacks:\n";
  for (auto& c : cbs_) os << "  - " << c->name() << " (order " << c->order() << ")\n";
  return os.str();
}

}  // namespace fastai
