// DataBlock::summary: fastai's step-by-step debug trace. Every step is run by hand (one transform
// at a time on one sample, then one batch) so a failure names the step, the item and its type.
#include "fastai/core/error.h"
#include "fastai/data/block.h"

#include <iostream>
#include <sstream>
#include <utility>

namespace fastai {
namespace summary_detail {

struct Trace {
  std::ostringstream os;
  std::ostream* out;
  void line(const std::string& s, int indent = 0) {
    const std::string l = std::string(static_cast<size_t>(indent) * 2, ' ') + s + "\n";
    os << l;
    *out << l << std::flush;
  }
};

std::string show(const Item& x) { return describe(x); }

// Thrown inside summary: the step that failed, already written to the trace.
struct Failed {
  std::string what;
};

[[noreturn]] void failed(Trace& tr, const std::string& step, const std::string& item, const Item& input,
                         const std::exception& e) {
  std::string m = "FAILED at ";
  m += step;
  if (!item.empty()) {
    m += ", on ";
    m += item;
  }
  m += ", input of type ";
  m += input.type_name();
  m += " (";
  m += quote_value(describe(input), 120);
  m += "):\n    ";
  m += e.what();
  tr.line("");
  tr.line(m);
  throw Failed{m};
}

// Applies each transform of `p` to x in turn, tracing each result.
Item trace_pipeline(Trace& tr, const Pipeline& p, Item x, std::optional<int> split, const std::string& where,
                    const std::string& item, int indent) {
  tr.line(p.to_string(), indent);
  tr.line("starting from", indent + 1);
  tr.line(show(x), indent + 2);
  for (size_t k = 0; k < p.size(); ++k) {
    const auto& t = p.transforms()[k];
    try {
      x = (*t)(x, split);
    } catch (const std::exception& e) {
      std::string step = where;
      step += ", transform ";
      step += std::to_string(k + 1);
      step += "/";
      step += std::to_string(p.size());
      step += " '";
      step += t->name();
      step += "'";
      failed(tr, step, item, x, e);
    }
    tr.line("applying " + t->name() + " gives", indent + 1);
    tr.line(show(x), indent + 2);
  }
  return x;
}

std::string item_text(int64_t i, const Item& raw) {
  std::string s = "item ";
  s += std::to_string(i);
  s += " (";
  s += quote_value(describe(raw), 120);
  s += ")";
  return s;
}

}  // namespace summary_detail

std::string DataBlock::summary(const Item& source, SummaryOptions o) const {
  using summary_detail::Failed;
  summary_detail::Trace tr;
  tr.out = o.out ? o.out : &std::cout;
  const Item none;
  try {
    tr.line("Setting-up type transforms pipelines");
    tr.line("Collecting items from " + quote_value(describe(source), 200));
    std::vector<Item> items;
    try {
      items = get_items(source);
    } catch (const std::exception& e) {
      summary_detail::failed(tr, "get_items", "", source, e);
    }
    tr.line("Found " + std::to_string(items.size()) + " items");
    if (items.empty()) {
      Error e("get_items found no items; expected at least one (check the path and the file extensions)");
      summary_detail::failed(tr, "get_items", "", source, e);
    }
    Splits splits;
    try {
      splits = split(items);
    } catch (const std::exception& e) {
      summary_detail::failed(tr, "the splitter", "", none, e);
    }
    tr.line(std::to_string(splits.size()) + " datasets of sizes " + std::to_string(splits[0].size()) + "," +
            std::to_string(splits[1].size()));
    std::vector<TfmdLists> tls;
    auto tt = type_tfms();
    for (size_t b = 0; b < tt.size(); ++b) {
      TfmdLists tl(items, Pipeline(tt[b]), {.splits = splits, .do_setup = false});
      tr.line("Setting up " + tl.tfms().to_string());
      try {
        tl.setup();
      } catch (const std::exception& e) {
        summary_detail::failed(tr, "the setup of block " + std::to_string(b) + " (" + o_.blocks[b].name + ")", "",
                               none, e);
      }
      tls.push_back(std::move(tl));
    }
    Datasets dsets(tls, n_inp_);
    Datasets train = dsets.train();

    tr.line("");
    tr.line("Building one sample");
    const int64_t g0 = splits[0][0];
    const Item& raw0 = items[static_cast<size_t>(g0)];
    const std::string item0 = summary_detail::item_text(g0, raw0);
    Tuple sample;
    for (size_t b = 0; b < tls.size(); ++b)
      sample.push_back(summary_detail::trace_pipeline(tr, tls[b].tfms(), raw0, 0,
                                                      "block " + std::to_string(b) + " (" + o_.blocks[b].name + ")",
                                                      item0, 1));
    tr.line("");
    tr.line("Final sample: " + describe(Item::make<Tuple>(sample)));

    // One batch, built step by step on the CPU without worker threads.
    tr.line("");
    DataLoadersOptions dlo{.bs = std::max<int64_t>(1, std::min<int64_t>(o.bs, train.size())),
                           .shuffle_train = false,
                           .device = c10::Device(c10::kCPU),
                           .num_workers = 0,
                           .seed = 1,
                           .after_item = item_tfms(),
                           .before_batch = before_batch(),
                           .after_batch = batch_tfms()};
    auto tfm_list = [](const std::vector<std::shared_ptr<Transform>>& v) { return Pipeline(v).to_string(); };
    tr.line("Setting up after_item: " + tfm_list(dlo.after_item));
    tr.line("Setting up before_batch: " + tfm_list(dlo.before_batch));
    tr.line("Setting up after_batch: " + tfm_list(dlo.after_batch));
    std::shared_ptr<TfmdDL> dl;
    try {
      dl = dataloaders_from(dsets, dlo).tfmd(0);
    } catch (const std::exception& e) {
      summary_detail::failed(tr, "setting up the loader's transforms (after_item / before_batch / after_batch)", "",
                             none, e);
    }
    tr.line("");
    tr.line("Building one batch");
    tr.line("Applying item_tfms to the first sample:");
    std::vector<Tuple> samples;
    Item first = summary_detail::trace_pipeline(tr, dl->after_item(), Item::make<Tuple>(sample), 0, "item_tfms",
                                                item0, 1);
    samples.push_back(first.is<Tuple>() ? first.get<Tuple>() : Tuple{first});
    const int64_t bs = dlo.bs;
    if (bs > 1) tr.line("Adding the next " + std::to_string(bs - 1) + " samples");
    for (int64_t i = 1; i < bs; ++i) {
      const int64_t g = splits[0][static_cast<size_t>(i)];
      const std::string it = summary_detail::item_text(g, items[static_cast<size_t>(g)]);
      Tuple s;
      try {
        s = train.get(i);
      } catch (const std::exception& e) {
        summary_detail::failed(tr, "the type transforms", it, items[static_cast<size_t>(g)], e);
      }
      try {
        s = dl->after_item()(s, 0);
      } catch (const std::exception& e) {
        summary_detail::failed(tr, "item_tfms", it, Item::make<Tuple>(s), e);
      }
      samples.push_back(std::move(s));
    }
    if (dl->before_batch().empty()) {
      tr.line("No before_batch transform to apply");
    } else {
      tr.line("Applying before_batch to the list of samples");
      try {
        samples = dl->do_before_batch(std::move(samples));
      } catch (const std::exception& e) {
        summary_detail::failed(tr, "before_batch " + dl->before_batch().to_string(), "", none, e);
      }
    }
    tr.line("");
    tr.line("Collating items in a batch");
    Tuple batch;
    try {
      batch = retain_batch_types(collate(samples), samples);
    } catch (const std::exception& e) {
      summary_detail::failed(tr, "collating the batch", "", none, e);
    }
    if (dl->after_batch().empty()) {
      tr.line("No batch_tfms to apply");
    } else {
      tr.line("Applying batch_tfms to the batch built");
      summary_detail::trace_pipeline(tr, dl->after_batch(), Item::make<Tuple>(batch), 0, "batch_tfms", "the batch", 1);
    }
  } catch (const Failed& f) {
    throw Error("DataBlock.summary: " + f.what);
  }
  return tr.os.str();
}

}  // namespace fastai
