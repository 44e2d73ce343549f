// Item and the semantic-type registry: storage, subtype-aware is/get, errors naming both types,
// user-registered types, retain_type, describe.
#include "test_util.h"
#include "fastai/core/types.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace types_test {

using namespace fastai;  // NOLINT: test file
using fastai::testing::expect_error;

// A user-defined semantic type: an image with a caption, registered as a TensorImage.
struct CaptionedImage : TensorImage {
  std::string caption;
  CaptionedImage(at::Tensor t, std::string c) : TensorImage(std::move(t)), caption(std::move(c)) {}
};
struct Unrelated {
  int v = 0;
};

TEST(Types, ItemStoresValuesAndNames) {
  Item a = Category{"cat"};
  EXPECT_TRUE(a.is<Category>());
  EXPECT_EQ(a.get<Category>().label, "cat");
  EXPECT_EQ(a.type_name(), "Category");
  Item s = "text";  // const char* is stored as std::string
  EXPECT_TRUE(s.is<std::string>());
  EXPECT_EQ(s.get<std::string>(), "text");
  Item e;
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(e.type_name(), "None");
  Item b = a;  // copies share the value
  EXPECT_TRUE(b.same(a));
  Tuple t{TensorImage(at::zeros({3, 2, 2})), Category{"dog"}};
  Item ti = t;
  EXPECT_EQ(ti.type_name(), "Tuple");
  EXPECT_EQ(ti.get<Tuple>().size(), 2u);
}

TEST(Types, SubtypesAreUsableAsTheirBases) {
  Item bw = TensorImageBW(at::ones({1, 4, 4}));
  EXPECT_TRUE(bw.is<TensorImageBW>());
  EXPECT_TRUE(bw.is<TensorImage>());
  EXPECT_TRUE(bw.is<TensorImageBase>());
  EXPECT_TRUE(bw.is<TensorBase>());
  EXPECT_TRUE(bw.is<at::Tensor>());  // TensorBase is-a Tensor through its data
  EXPECT_FALSE(bw.is<TensorMask>());
  EXPECT_EQ(bw.get<TensorImage>().data.size(1), 4);
  EXPECT_TRUE(bw.get<at::Tensor>().equal(at::ones({1, 4, 4})));
  Item mask = TensorMask(at::zeros({4, 4}, at::kLong));
  EXPECT_FALSE(mask.is<TensorImage>());
  EXPECT_TRUE(mask.is<TensorImageBase>());
  Item mc = TensorMultiCategory(at::tensor({1, 2}));
  EXPECT_TRUE(mc.is<TensorCategory>());
  auto mro = type_mro(typeid(TensorImageBW));
  ASSERT_GE(mro.size(), 4u);
  EXPECT_EQ(mro[0], std::type_index(typeid(TensorImageBW)));
  EXPECT_EQ(mro[1], std::type_index(typeid(TensorImage)));
  EXPECT_EQ(mro[2], std::type_index(typeid(TensorImageBase)));
}

TEST(Types, GetOfTheWrongTypeNamesBothTypes) {
  Item c = Category{"cat"};
  expect_error([&] { (void)c.get<TensorImage>(); }, {"expected an item of type TensorImage", "got Category"});
  Item m = TensorMask(at::zeros({2, 2}, at::kLong));
  expect_error([&] { (void)m.get<TensorImage>(); }, {"TensorImage", "got TensorMask"});
  Item e;
  expect_error([&] { (void)e.get<Category>(); }, {"Category", "empty item"});
  expect_error([&] { (void)tensor_of(c); }, {"expected a tensor item", "got Category"});
}

TEST(Types, UserTypesCanBeRegistered) {
  Item x = CaptionedImage(at::zeros({3, 2, 2}), "hi");
  EXPECT_FALSE(x.is<TensorImage>());  // not registered yet: C++ inheritance alone is not enough
  register_type<CaptionedImage, TensorImage>("CaptionedImage");
  EXPECT_TRUE(x.is<TensorImage>());
  EXPECT_TRUE(x.is<at::Tensor>());
  EXPECT_EQ(x.type_name(), "CaptionedImage");
  EXPECT_TRUE(is_subtype(typeid(CaptionedImage), typeid(TensorBase)));
  // retain_type: a TensorImage result becomes a CaptionedImage again, keeping the caption.
  Item y = retain_type(Item(TensorImage(at::ones({3, 2, 2}))), x);
  ASSERT_TRUE(y.is<CaptionedImage>());
  EXPECT_EQ(y.get<CaptionedImage>().caption, "hi");
  EXPECT_TRUE(y.get<CaptionedImage>().data.equal(at::ones({3, 2, 2})));
  // ...also from a plain Tensor, through two levels.
  Item z = retain_type(Item(at::full({3, 2, 2}, 2.0)), x);
  ASSERT_TRUE(z.is<CaptionedImage>());
  EXPECT_EQ(z.get<CaptionedImage>().caption, "hi");
  EXPECT_EQ(z.get<TensorImage>().data[0][0][0].item<double>(), 2.0);
  // unrelated values are left alone
  Item u = retain_type(Item(Category{"a"}), x);
  EXPECT_TRUE(u.is<Category>());
  // unregistered types get a demangled name
  Item w = Unrelated{3};
  EXPECT_NE(w.type_name().find("Unrelated"), std::string::npos);
}

TEST(Types, DescribeUsesTheMostDerivedPrinter) {
  EXPECT_EQ(describe(Item(Category{"cat"})), "Category(cat)");
  EXPECT_EQ(describe(Item(MultiCategory{{"a", "b"}})), "MultiCategory(a, b)");
  EXPECT_EQ(describe(Item(TensorCategory(at::scalar_tensor(3, at::kLong)))), "TensorCategory(3)");
  EXPECT_EQ(describe(Item(TensorImage(at::zeros({3, 28, 28}, at::kByte)))), "TensorImage(shape=[3, 28, 28], dtype=Byte)");
  EXPECT_EQ(describe(Item(Tuple{Category{"a"}, std::string("b")})), "(Category(a), b)");
  EXPECT_EQ(describe(Item()), "None");
  struct Opaque {};
  register_type<Opaque>("Opaque");
  EXPECT_EQ(describe(Item(Opaque{})), "<Opaque>");
  register_describe<Unrelated>([](const Unrelated& u) { return "Unrelated#" + std::to_string(u.v); });
  EXPECT_EQ(describe(Item(Unrelated{7})), "Unrelated#7");
}

}  // namespace types_test
