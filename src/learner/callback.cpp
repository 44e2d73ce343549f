#include "fastai/learner/callback.h"

#include <cctype>
#include <typeinfo>

#include <cxxabi.h>

namespace fastai {

const char* event_name(Event e) {
  static const char* names[kNumEvents] = {
      "after_create", "before_fit", "before_epoch", "before_train", "before_batch", "after_pred",
      "after_loss", "before_backward", "after_cancel_backward", "after_backward", "before_step",
      "after_cancel_step", "after_step", "after_cancel_batch", "after_batch", "after_cancel_train",
      "after_train", "before_validate", "after_cancel_validate", "after_validate",
      "after_cancel_epoch", "after_epoch", "after_cancel_fit", "after_fit"};
  int i = static_cast<int>(e);
  return (i >= 0 && i < kNumEvents) ? names[i] : "unknown_event";
}

bool is_inner_event(Event e) {
  switch (e) {
    case Event::before_batch: case Event::after_pred: case Event::after_loss:
    case Event::before_backward: case Event::after_cancel_backward: case Event::after_backward:
    case Event::before_step: case Event::after_cancel_step: case Event::after_step:
    case Event::after_cancel_batch: case Event::after_batch:
      return true;
    default:
      return false;
  }
}

// fastai's camel2snake(class name minus "Callback"): TrainEvalCallback -> train_eval.
std::string Callback::name() const {
  int status = 0;
  char* dem = abi::__cxa_demangle(typeid(*this).name(), nullptr, nullptr, &status);
  std::string full = (status == 0 && dem) ? dem : typeid(*this).name();
  std::free(dem);
  if (auto p = full.rfind("::"); p != std::string::npos) full = full.substr(p + 2);
  if (auto p = full.find('<'); p != std::string::npos) full = full.substr(0, p);
  const std::string suffix = "Callback";
  if (full.size() > suffix.size() && full.compare(full.size() - suffix.size(), suffix.size(), suffix) == 0)
    full.resize(full.size() - suffix.size());
  std::string out;
  for (size_t i = 0; i < full.size(); ++i) {
    char c = full[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      bool prev_lower = i > 0 && (std::islower(static_cast<unsigned char>(full[i - 1])) || std::isdigit(static_cast<unsigned char>(full[i - 1])));
      bool next_lower = i + 1 < full.size() && std::islower(static_cast<unsigned char>(full[i + 1]));
      if (i > 0 && (prev_lower || (next_lower && std::isupper(static_cast<unsigned char>(full[i - 1]))))) out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace fastai
