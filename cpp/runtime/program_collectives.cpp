// Collective steps (program.hpp). The runtime moves contiguous blocks in member order; the
// ops' axes are arranged around that with strided copies: a gathered block lands at its place
// along `axis`, a scattered dim is cut into blocks that lead the send buffer.
#include "runtime/program.hpp"

#include <map>
#include <mutex>
#include <numeric>

namespace tessera {
namespace {

std::mutex groups_mu;
std::map<std::string, tsrComm>& groups() {
  static auto* g = new std::map<std::string, tsrComm>;  // leaked: used until exit
  return *g;
}

tsrComm group_of(const Step& s) {
  tsrComm comm = nullptr;
  {
    std::lock_guard<std::mutex> lock(groups_mu);
    auto it = groups().find(s.group);
    if (it != groups().end()) comm = it->second;
  }
  if (!comm)
    fail(ErrorCode::Value,
         s.op + ": no communicator for group '" + s.group +
             "' in this process (create the tessera.dist.Mesh it belongs to on every rank before running)",
         s.loc);
  int32_t size = 0;
  check_status(tsrCommSize(comm, &size), "tsrCommSize");
  if (size != s.group_size)
    fail(ErrorCode::Value,
         s.op + ": the program was built for a group of " + std::to_string(s.group_size) + " members, group '" +
             s.group + "' has " + std::to_string(size),
         s.loc);
  return comm;
}

tsrReduceOp reduce_op(const Step& s) {
  if (s.reduce == "sum") return TSR_REDUCE_SUM;
  if (s.reduce == "prod") return TSR_REDUCE_PROD;
  if (s.reduce == "max") return TSR_REDUCE_MAX;
  if (s.reduce == "min") return TSR_REDUCE_MIN;
  fail(ErrorCode::Internal, s.op + ": reduce '" + s.reduce + "' should have been decomposed", s.loc);
}

// A contiguous copy of `a` (contiguous, read with shape `shape`) with its dims in the order `perm`.
Array permuted(const Array& a, const std::vector<int64_t>& shape, const std::vector<size_t>& perm) {
  Array v = a;
  std::vector<int64_t> strides = Array::contiguous_strides(shape);
  v.shape.clear();
  v.strides.clear();
  for (size_t p : perm) {
    v.shape.push_back(shape[p]);
    v.strides.push_back(strides[p]);
  }
  return v.contiguous();
}

Array reshaped(Array a, std::vector<int64_t> shape) {
  a.strides = Array::contiguous_strides(shape);
  a.shape = std::move(shape);
  return a;
}

// The order that moves dim `from` of a rank-`rank` shape to position `to`.
std::vector<size_t> moving(size_t rank, size_t from, size_t to) {
  std::vector<size_t> perm(rank);
  std::iota(perm.begin(), perm.end(), size_t(0));
  perm.erase(perm.begin() + long(from));
  perm.insert(perm.begin() + long(to), from);
  return perm;
}

// `shape` with dim `axis` cut into (n, shape[axis] / n).
std::vector<int64_t> split_dim(std::vector<int64_t> shape, size_t axis, int64_t n) {
  shape[axis] /= n;
  shape.insert(shape.begin() + long(axis), n);
  return shape;
}

Array all_gather(const Step& s, tsrComm comm, const Array& x, Device d) {
  const int64_t n = s.group_size;
  const size_t axis = size_t(s.ints[0]);
  std::vector<int64_t> blocks = x.shape;
  blocks.insert(blocks.begin(), n);
  Array tmp = Array::empty(d, x.dtype, blocks);
  check_status(tsrAllGather(comm, x.data(), tmp.data(), size_t(x.numel()), to_tsr(x.dtype), d.raw(), nullptr),
               "tsrAllGather");
  std::vector<int64_t> out = x.shape;
  out[axis] *= n;
  if (axis == 0) return reshaped(tmp, out);
  return reshaped(permuted(tmp, blocks, moving(blocks.size(), 0, axis)), out);
}

Array reduce_scatter(const Step& s, tsrComm comm, const Array& x, Device d) {
  const int64_t n = s.group_size;
  const size_t axis = size_t(s.ints[0]);
  std::vector<int64_t> cut = split_dim(x.shape, axis, n);
  Array send = axis == 0 ? x : permuted(x, cut, moving(cut.size(), axis, 0));
  std::vector<int64_t> out = x.shape;
  out[axis] /= n;
  Array r = Array::empty(d, x.dtype, out);
  check_status(
      tsrReduceScatter(comm, send.data(), r.data(), size_t(r.numel()), to_tsr(x.dtype), reduce_op(s), d.raw(), nullptr),
      "tsrReduceScatter");
  return r;
}

Array all_to_all(const Step& s, tsrComm comm, const Array& x, Device d) {
  const int64_t n = s.group_size;
  const size_t split = size_t(s.ints[0]), cat = size_t(s.ints[1]);
  std::vector<int64_t> cut = split_dim(x.shape, split, n);
  Array send = split == 0 ? x : permuted(x, cut, moving(cut.size(), split, 0));
  std::vector<int64_t> part = x.shape;  // one member's block
  part[split] /= n;
  std::vector<int64_t> blocks = part;
  blocks.insert(blocks.begin(), n);
  Array recv = Array::empty(d, x.dtype, blocks);
  check_status(tsrAllToAll(comm, send.data(), recv.data(), size_t(x.numel() / n), to_tsr(x.dtype), d.raw(), nullptr),
               "tsrAllToAll");
  std::vector<int64_t> out = part;
  out[cat] *= n;
  if (cat == 0) return reshaped(recv, out);
  return reshaped(permuted(recv, blocks, moving(blocks.size(), 0, cat)), out);
}

Array ppermute(const Step& s, tsrComm comm, const Array& x, Device d) {
  int32_t me = 0;
  check_status(tsrCommRank(comm, &me), "tsrCommRank");
  int32_t dest = -1, source = -1;
  for (size_t i = 0; i + 1 < s.ints.size(); i += 2) {
    if (s.ints[i] == me) dest = int32_t(s.ints[i + 1]);
    if (s.ints[i + 1] == me) source = int32_t(s.ints[i]);
  }
  Array r = Array::empty(d, x.dtype, x.shape);
  if (source < 0) check_status(tsrMemset(d.raw(), r.data(), 0, r.nbytes(), nullptr), "tsrMemset");
  check_status(
      tsrSendRecv(comm, x.data(), dest, r.data(), source, size_t(x.numel()), to_tsr(x.dtype), d.raw(), nullptr),
      "tsrSendRecv");
  return r;
}

}  // namespace

void register_group(const std::string& key, tsrComm comm) {
  std::lock_guard<std::mutex> lock(groups_mu);
  if (comm)
    groups()[key] = comm;
  else
    groups().erase(key);
}

Array run_collective(const Step& s, const std::vector<Array>& slots, Device d) {
  tsrComm comm = group_of(s);
  if (s.op == "axis_index") {
    int32_t me = 0;
    check_status(tsrCommRank(comm, &me), "tsrCommRank");
    Array r = Array::empty(Device{}, DType::I32, {});
    *static_cast<int32_t*>(r.data()) = me;
    return r.to(d);
  }
  const Array x = slots[size_t(s.args[0])].contiguous();
  if (s.op == "all_gather") return all_gather(s, comm, x, d);
  if (s.op == "reduce_scatter") return reduce_scatter(s, comm, x, d);
  if (s.op == "all_to_all") return all_to_all(s, comm, x, d);
  if (s.op == "ppermute") return ppermute(s, comm, x, d);
  Array r = Array::empty(d, x.dtype, x.shape);
  if (s.op == "all_reduce") {
    check_status(
        tsrAllReduce(comm, x.data(), r.data(), size_t(x.numel()), to_tsr(x.dtype), reduce_op(s), d.raw(), nullptr),
        "tsrAllReduce");
  } else if (s.op == "broadcast") {
    check_status(tsrMemcpy(r.data(), d.raw(), x.data(), d.raw(), x.nbytes(), nullptr), "tsrMemcpy");
    check_status(tsrBroadcast(comm, r.data(), size_t(r.numel()), to_tsr(x.dtype), int32_t(s.ints[0]), d.raw(), nullptr),
                 "tsrBroadcast");
  } else {
    fail(ErrorCode::Internal, "executor: unknown collective '" + s.op + "'", s.loc);
  }
  return r;
}

}  // namespace tessera
