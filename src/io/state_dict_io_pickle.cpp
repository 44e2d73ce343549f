// The pickle interpreter of load_pth: the opcodes torch.save's protocol-2 pickles use (and the
// protocol 3-5 ones that come for free), with the few globals a state dict needs. Anything
// else a pickle builds becomes an opaque object that is only an error if a tensor is wanted there.
#include "fastai/core/error.h"
#include "fastai/io/state_dict_io.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace fastai::pth_detail {

enum class PyKind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Tensor, Storage, Object };

struct PyObj;
using PyRef = std::shared_ptr<PyObj>;

struct PyObj {
  PyKind kind = PyKind::None;
  int64_t i = 0;
  double f = 0;
  std::string s;  // Str / Bytes: the text; Global / Object: "module.name"; Storage: its key
  std::vector<PyRef> items;                         // Tuple / List
  std::vector<std::pair<PyRef, PyRef>> entries;     // Dict, in insertion order
  at::Tensor t;                                     // Tensor; Storage: all its elements, 1-d
};

inline PyRef py_make(PyKind k) {
  auto o = std::make_shared<PyObj>();
  o->kind = k;
  return o;
}

/// How an object reads in an error message.
inline std::string py_describe(const PyObj& o) {
  static const char* const names[] = {"None",    "a bool", "an int", "a float", "a str",    "bytes",
                                      "a tuple", "a list", "a dict", "",        "a tensor", "a storage"};
  if (o.kind == PyKind::Global) return "the global '" + o.s + "'";
  if (o.kind == PyKind::Object) return "a '" + o.s + "' object (an unsupported global)";
  return names[static_cast<int>(o.kind)];
}

/// torch.<Name>Storage -> dtype; Undefined when the name is not one.
inline at::ScalarType py_storage_dtype(const std::string& global) {
  static const std::unordered_map<std::string, at::ScalarType> m = {
      {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort}, {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},   {"torch.BoolStorage", at::kBool}};
  auto it = m.find(global);
  return it == m.end() ? at::ScalarType::Undefined : it->second;
}

/// Names of the opcodes this reader does not run (text-protocol ones, extension registry, ...).
inline const char* py_unsupported_opcode_name(uint8_t op) {
  static const std::pair<uint8_t, const char*> names[] = {
      {'I', "INT"},  {'L', "LONG"}, {'S', "STRING"}, {'V', "UNICODE"}, {'F', "FLOAT"}, {'P', "PERSID"},
      {'g', "GET"},  {'p', "PUT"},  {'i', "INST"},   {'o', "OBJ"},     {0x82, "EXT1"}, {0x83, "EXT2"},
      {0x84, "EXT4"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"}};
  for (const auto& [code, name] : names)
    if (code == op) return name;
  return nullptr;
}

class PthUnpickler {
 public:
  PthUnpickler(std::string_view data, const std::string& where, const StorageLoader& load)
      : d_(data), where_(where), load_(load) {}

  PyRef run();

 private:
  std::string_view d_;
  const std::string& where_;
  const StorageLoader& load_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;  // offset of the opcode being run, for errors
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyRef> memo_;
  std::unordered_map<std::string, at::Tensor> storages_;

  template <class... A>
  [[noreturn]] void bad(A&&... a) const {
    fail(where_, ": ", std::forward<A>(a)..., " (pickle opcode at offset ", op_pos_, ")");
  }
  const char* take(size_t n) {
    if (d_.size() - pos_ < n) bad("the pickle ends early: ", n, " more bytes needed, ", d_.size() - pos_, " left");
    const char* p = d_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint64_t uint_le(size_t n) {
    const auto* p = reinterpret_cast<const unsigned char*>(take(n));
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= uint64_t(p[k]) << (8 * k);
    return v;
  }
  std::string line() {
    const size_t e = d_.find('\n', pos_);
    if (e == std::string_view::npos) bad("a GLOBAL's name has no end of line");
    std::string s(d_.substr(pos_, e - pos_));
    pos_ = e + 1;
    return s;
  }
  PyRef pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) bad("the pickle stack is empty");
    PyRef r = stack_.back();
    stack_.pop_back();
    return r;
  }
  PyRef& top() {
    if (stack_.empty()) bad("the pickle stack is empty");
    return stack_.back();
  }
  std::vector<PyRef> pop_to_mark() {
    if (marks_.empty()) bad("no MARK before an opcode that needs one");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PyRef> r(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return r;
  }
  void push(PyRef o) { stack_.push_back(std::move(o)); }
  void push_str(PyKind k, size_t n) { auto o = py_make(k); o->s.assign(take(n), n); push(o); }
  void push_int(int64_t v) { auto o = py_make(PyKind::Int); o->i = v; push(o); }
  void push_tuple(std::vector<PyRef> items) { auto o = py_make(PyKind::Tuple); o->items = std::move(items); push(o); }
  void long_n(size_t n);
  void get(uint64_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) bad("memo entry ", k, " read before it was written");
    push(it->second);
  }
  void set_items(PyRef dict, const std::vector<PyRef>& kv);
  void append_items(PyRef list, const std::vector<PyRef>& items);
  PyRef call(const PyRef& callable, const PyRef& args);
  PyRef rebuild_tensor(const std::vector<PyRef>& a);
  PyRef persistent_load(const PyRef& pid);
  int64_t as_int(const PyRef& o, const char* what) {
    if (o->kind != PyKind::Int && o->kind != PyKind::Bool) bad("expected an int for ", what, ", found ", py_describe(*o));
    return o->i;
  }
  std::vector<int64_t> as_ints(const PyRef& o, const char* what) {
    if (o->kind != PyKind::Tuple && o->kind != PyKind::List) bad("expected a tuple for ", what, ", found ", py_describe(*o));
    std::vector<int64_t> r;
    for (const auto& x : o->items) r.push_back(as_int(x, what));
    return r;
  }
};

void PthUnpickler::long_n(size_t n) {
  if (n > 8) bad("an integer of ", n, " bytes (more than 64 bits)");
  const uint64_t u = uint_le(n);
  int64_t v = static_cast<int64_t>(u);
  if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) v = static_cast<int64_t>(u | (~uint64_t(0) << (8 * n)));
  push_int(v);
}

void PthUnpickler::set_items(PyRef dict, const std::vector<PyRef>& kv) {
  if (dict->kind != PyKind::Dict) bad("SETITEM(S) on ", py_describe(*dict), ", expected a dict");
  if (kv.size() % 2) bad("SETITEMS with an odd number of items");
  for (size_t k = 0; k < kv.size(); k += 2) {
    bool replaced = false;  // dicts keep the first position of a key; torch never repeats one
    if (kv[k]->kind == PyKind::Str)
      for (auto& e : dict->entries)
        if (e.first->kind == PyKind::Str && e.first->s == kv[k]->s) { e.second = kv[k + 1]; replaced = true; break; }
    if (!replaced) dict->entries.emplace_back(kv[k], kv[k + 1]);
  }
}

void PthUnpickler::append_items(PyRef list, const std::vector<PyRef>& items) {
  if (list->kind != PyKind::List) bad("APPEND(S) / ADDITEMS on ", py_describe(*list), ", expected a list or set");
  list->items.insert(list->items.end(), items.begin(), items.end());
}

PyRef PthUnpickler::persistent_load(const PyRef& pid) {
  if (pid->kind != PyKind::Tuple || pid->items.size() < 5 || pid->items[0]->kind != PyKind::Str ||
      pid->items[0]->s != "storage" || pid->items[2]->kind != PyKind::Str)
    bad("expected a persistent id ('storage', type, key, location, numel), found ", py_describe(*pid));
  const PyRef& type = pid->items[1];
  const at::ScalarType dtype = type->kind == PyKind::Global ? py_storage_dtype(type->s) : at::ScalarType::Undefined;
  if (dtype == at::ScalarType::Undefined)
    bad("unsupported storage type ", type->kind == PyKind::Global ? "'" + type->s + "'" : py_describe(*type),
        " (expected torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage)");
  const std::string& key = pid->items[2]->s;
  const int64_t numel = as_int(pid->items[4], "a storage's size");
  auto it = storages_.find(key);
  if (it == storages_.end()) it = storages_.emplace(key, load_(key, dtype)).first;
  if (it->second.scalar_type() != dtype) bad("storage '", key, "' used as two dtypes");
  if (it->second.numel() < numel)
    bad("data entry 'data/", key, "' holds ", it->second.numel(), " elements of ", dtype, " (",
        it->second.numel() * int64_t(c10::elementSize(dtype)), " bytes); the pickle says ", numel, " (truncated?)");
  auto o = py_make(PyKind::Storage);
  o->s = key;
  o->t = it->second;
  return o;
}

PyRef PthUnpickler::rebuild_tensor(const std::vector<PyRef>& a) {
  if (a.size() < 4 || a[0]->kind != PyKind::Storage)
    bad("_rebuild_tensor_v2 expects (storage, offset, size, stride, ...), found ", a.size(), " arguments");
  const at::Tensor& st = a[0]->t;
  const int64_t offset = as_int(a[1], "a tensor's storage offset");
  const auto size = as_ints(a[2], "a tensor's size");
  const auto stride = as_ints(a[3], "a tensor's stride");
  if (size.size() != stride.size()) bad("a tensor with ", size.size(), " sizes and ", stride.size(), " strides");
  int64_t last = offset, numel = 1;
  for (size_t k = 0; k < size.size(); ++k) {
    if (size[k] < 0 || stride[k] < 0) bad("a tensor with a negative size or stride");
    numel *= size[k];
    last += (size[k] - 1) * stride[k];
  }
  auto o = py_make(PyKind::Tensor);
  if (numel == 0) {
    o->t = at::empty(size, st.options());
    return o;
  }
  if (offset < 0 || last >= st.numel())
    bad("a tensor of size ", at::IntArrayRef(size), ", stride ", at::IntArrayRef(stride), " and offset ", offset,
        " needs ", last + 1, " elements of data entry 'data/", a[0]->s, "', which holds ", st.numel(), " (truncated?)");
  o->t = st.as_strided(size, stride, offset).clone(at::MemoryFormat::Contiguous);
  return o;
}

PyRef PthUnpickler::call(const PyRef& callable, const PyRef& args) {
  if (callable->kind != PyKind::Global) bad("REDUCE / NEWOBJ on ", py_describe(*callable), ", expected a global");
  if (args->kind != PyKind::Tuple) bad("REDUCE / NEWOBJ with ", py_describe(*args), " as arguments, expected a tuple");
  const std::string& g = callable->s;
  const auto& a = args->items;
  if (g == "collections.OrderedDict") {
    auto d = py_make(PyKind::Dict);
    if (!a.empty() && a[0]->kind == PyKind::List)
      for (const auto& kv : a[0]->items)
        if (kv->kind == PyKind::Tuple && kv->items.size() == 2) set_items(d, kv->items);
    return d;
  }
  if (g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor") return rebuild_tensor(a);
  if (g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != PyKind::Tensor) bad(g, " expects a tensor first");
    return a[0];
  }
  auto o = py_make(PyKind::Object);  // an error only where a state dict or a tensor is wanted
  o->s = g;
  return o;
}

PyRef PthUnpickler::run() {
  while (true) {
    op_pos_ = pos_;
    const auto op = static_cast<uint8_t>(*take(1));
    switch (op) {
      case 0x80: if (static_cast<uint8_t>(*take(1)) > 5) bad("pickle protocol above 5"); break;  // PROTO
      case 0x95: take(8); break;                                                                // FRAME
      case '.': { PyRef r = pop(); return r; }                                                  // STOP
      case '(': marks_.push_back(stack_.size()); break;                                         // MARK
      case '0': pop(); break;                                                                   // POP
      case '1': pop_to_mark(); break;                                                           // POP_MARK
      case '2': push(top()); break;                                                             // DUP
      case 'N': push(py_make(PyKind::None)); break;
      case 0x88: case 0x89: { auto o = py_make(PyKind::Bool); o->i = op == 0x88; push(o); break; }  // NEWTRUE/FALSE
      case 'J': push_int(static_cast<int32_t>(uint_le(4))); break;  // BININT
      case 'K': push_int(int64_t(uint_le(1))); break;               // BININT1
      case 'M': push_int(int64_t(uint_le(2))); break;               // BININT2
      case 0x8a: long_n(uint_le(1)); break;                         // LONG1
      case 0x8b: long_n(uint_le(4)); break;                         // LONG4
      case 'G': {                                                   // BINFLOAT, big-endian
        const auto* p = reinterpret_cast<const unsigned char*>(take(8));
        uint64_t u = 0;
        for (int k = 0; k < 8; ++k) u = (u << 8) | p[k];
        auto o = py_make(PyKind::Float);
        std::memcpy(&o->f, &u, 8);
        push(o);
        break;
      }
      case 'X': push_str(PyKind::Str, uint_le(4)); break;    // BINUNICODE
      case 0x8c: push_str(PyKind::Str, uint_le(1)); break;   // SHORT_BINUNICODE
      case 0x8d: push_str(PyKind::Str, uint_le(8)); break;   // BINUNICODE8
      case 'T': push_str(PyKind::Str, uint_le(4)); break;    // BINSTRING
      case 'U': push_str(PyKind::Str, uint_le(1)); break;    // SHORT_BINSTRING
      case 'B': push_str(PyKind::Bytes, uint_le(4)); break;  // BINBYTES
      case 'C': push_str(PyKind::Bytes, uint_le(1)); break;  // SHORT_BINBYTES
      case 0x8e: push_str(PyKind::Bytes, uint_le(8)); break; // BINBYTES8
      case ')': push_tuple({}); break;                       // EMPTY_TUPLE
      case 't': push_tuple(pop_to_mark()); break;            // TUPLE
      case 0x85: case 0x86: case 0x87: {                     // TUPLE1/2/3
        std::vector<PyRef> items(op - 0x84);
        for (auto k = items.size(); k-- > 0;) items[k] = pop();
        push_tuple(std::move(items));
        break;
      }
      case ']': case 0x8f: push(py_make(PyKind::List)); break;  // EMPTY_LIST, EMPTY_SET (sets: lists)
      case 'l': case 0x91: { auto o = py_make(PyKind::List); o->items = pop_to_mark(); push(o); break; }  // LIST, FROZENSET
      case 'a': { PyRef v = pop(); append_items(top(), {v}); break; }  // APPEND
      case 'e': case 0x90: { auto v = pop_to_mark(); append_items(top(), v); break; }  // APPENDS, ADDITEMS
      case '}': push(py_make(PyKind::Dict)); break;                      // EMPTY_DICT
      case 'd': { auto o = py_make(PyKind::Dict); set_items(o, pop_to_mark()); push(o); break; }  // DICT
      case 's': { PyRef v = pop(); PyRef k = pop(); set_items(top(), {k, v}); break; }  // SETITEM
      case 'u': { auto kv = pop_to_mark(); set_items(top(), kv); break; }              // SETITEMS
      case 'q': memo_[uint_le(1)] = top(); break;          // BINPUT
      case 'r': memo_[uint_le(4)] = top(); break;          // LONG_BINPUT
      case 0x94: { auto k = memo_.size(); memo_[k] = top(); break; }  // MEMOIZE
      case 'h': get(uint_le(1)); break;                    // BINGET
      case 'j': get(uint_le(4)); break;                    // LONG_BINGET
      case 'c': {                                          // GLOBAL
        auto o = py_make(PyKind::Global);
        o->s = line();
        o->s += "." + line();
        push(o);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PyRef name = pop(), mod = pop();
        if (name->kind != PyKind::Str || mod->kind != PyKind::Str) bad("STACK_GLOBAL expects two strings");
        auto o = py_make(PyKind::Global);
        o->s = mod->s + "." + name->s;
        push(o);
        break;
      }
      case 'R': case 0x81: { PyRef args = pop(); PyRef f = pop(); push(call(f, args)); break; }  // REDUCE, NEWOBJ
      case 0x92: { pop(); PyRef args = pop(); PyRef f = pop(); push(call(f, args)); break; }      // NEWOBJ_EX
      case 'b': pop(); top(); break;  // BUILD: the state (an OrderedDict's _metadata, ...) is not needed
      case 'Q': { PyRef pid = pop(); push(persistent_load(pid)); break; }  // BINPERSID
      default:
        if (const char* name = py_unsupported_opcode_name(op))
          bad("unsupported pickle opcode ", name, " ('", char(op), "')");
        fail(where_, ": unknown pickle opcode 0x", std::hex, int(op), std::dec, " at offset ", op_pos_,
             " (expected a torch.save pickle, protocol 2)");
    }
  }
}

/// The state dict `o` holds: a dict of tensors, or a dict with one under "model" / "state_dict".
inline StateDict py_state_dict(const PyObj& o, const std::string& where, int depth = 0) {
  if (o.kind == PyKind::Object)
    fail(where, ": the pickle holds ", py_describe(o), ", not a state dict",
         o.s.rfind("torch.nn.", 0) == 0 ? " (a whole module: save model.state_dict() instead)" : "");
  if (o.kind != PyKind::Dict) fail(where, ": expected a dict of tensors, the pickle holds ", py_describe(o));
  if (depth == 0)
    for (const char* inner : {"model", "state_dict"})
      for (const auto& [k, v] : o.entries)
        if (k->kind == PyKind::Str && k->s == inner && v->kind == PyKind::Dict) return py_state_dict(*v, where, 1);
  StateDict r;
  for (const auto& [k, v] : o.entries) {
    if (k->kind != PyKind::Str) fail(where, ": a state dict key is ", py_describe(*k), ", expected a str");
    if (v->kind != PyKind::Tensor) fail(where, ": entry '", k->s, "' is ", py_describe(*v), ", expected a tensor");
    r.emplace_back(k->s, v->t);
  }
  return r;
}

StateDict unpickle_state_dict(std::string_view data, const std::string& where, const StorageLoader& load) {
  PthUnpickler u(data, where, load);
  PyRef top = u.run();
  return py_state_dict(*top, where);
}

}  // namespace fastai::pth_detail
