// Object-detection data end to end, on a synthetic set (no download): make_synthetic_boxes draws
// rectangles and circles with their exact boxes into a COCO-style JSON, get_annotations reads it,
// and a DataBlock {ImageBlock, BBoxBlock, BBoxLblBlock} serves padded, flipped batches whose
// boxes show_batch draws with their labels (fastai's COCO example in the DataBlock tutorial).
//
//   bbox_synthetic [--n 24] [--size 64] [--seed 42] [--out out/bbox_synthetic]
#include <fastai/vision.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>

int main(int argc, char** argv) {
  using namespace fastai;
  int64_t n = 24, size = 64;
  uint64_t seed = 42;
  std::string out = "out/bbox_synthetic";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--n")) n = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--size")) size = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--out")) out = argv[i + 1];
    else { std::cerr << "usage: bbox_synthetic [--n N] [--size PX] [--seed N] [--out DIR]\n"; return 2; }
  }
  try {
    set_seed(seed);
    auto set = make_synthetic_boxes(out + "/data", n, {.height = size, .width = size, .seed = seed});
    auto [images, lbl_bbox] = get_annotations(set.annotations);
    std::map<std::string, BBoxAnnotation> img2bbox;
    for (size_t i = 0; i < images.size(); ++i) img2bbox[images[i]] = lbl_bbox[i];
    auto boxes_of = [&](const std::filesystem::path& p) { return img2bbox.at(p.filename().string()).boxes; };
    auto labels_of = [&](const std::filesystem::path& p) { return img2bbox.at(p.filename().string()).labels; };
    DataBlock block({.blocks = {ImageBlock(), BBoxBlock(), BBoxLblBlock()},
                     .get_items = get_image_files,
                     .getters = {nullptr, boxes_of, labels_of},
                     .splitter = RandomSplitter(0.2, seed),
                     .item_tfms = {std::make_shared<Resize>(ImageSize(size))},
                     .batch_tfms = {Flip(0.5)},
                     .n_inp = 1});
    auto dls = block.dataloaders(Item(set.images), {.bs = 8, .num_workers = 0, .seed = seed});
    Tuple b = dls.tfmd(0)->one_batch();
    std::cout << "vocab:";
    for (const auto& v : dls.vocab()) std::cout << " " << v;
    std::cout << "\nbatch: images " << tensor_of(b[0]).sizes() << ", boxes " << tensor_of(b[1]).sizes()
              << " (padded per batch, -1..1), labels " << tensor_of(b[2]).sizes() << "\n";
    dls.show_batch({.max_n = 9, .path = out + "/bbox_batch.png"});
    std::cout << "batch -> " << out << "/bbox_batch.png\n";
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
