// Shardings of Graph IR values over a device mesh (docs/distributed.md, "Sharded programs").
//
// A module that runs on a mesh names it in its `mesh` attribute: `"@key[dp=2, tp=4]"` (the
// key prefixes the group names of the collectives: "key:dp"). A sharding says how a global
// value is split over the mesh: per dim, the mesh axis that splits it ("-": none), and the axes
// over which the value is a pending reduction ("partial"):
//
//   [dp, -]          rows split over dp, replicated over every other axis
//   [-, -] sum(tp)   every member of a tp group holds a term; the value is their sum
//
// The text lives in string attributes: the entry function's `in_shardings` (its parameters',
// ";"-separated), each op's `sharding` (its results', written by propagate-sharding) and
// `sharding_constraint` ops. spmd-partition rewrites the program into the per-device one and
// records the results' shardings in the function's `out_shardings`.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::ir {

struct Mesh {
  struct Axis {
    std::string name;
    int64_t size = 1;
  };
  std::string key;
  std::vector<Axis> axes;

  int64_t size(const std::string& axis) const;  // throws for an axis not on the mesh
  std::string group(const std::string& axis) const { return key + ":" + axis; }
  std::string str() const;
  static Mesh parse(const std::string& text);  // throws Value with what is wrong
  static std::optional<Mesh> of(const Module& m);
};

struct Sharding {
  std::vector<std::string> dims;     // per dim: the axis splitting it, "" for none
  std::vector<std::string> partial;  // axes of a pending reduction, in mesh order
  std::string reduce = "sum";        // the pending reduction: sum, max or min

  static Sharding replicated(size_t rank) { return Sharding{std::vector<std::string>(rank), {}, "sum"}; }
  bool is_replicated() const;  // no dim split, nothing pending
  bool uses(const std::string& axis) const;
  int dim_of(const std::string& axis) const;  // the dim `axis` splits, or -1
  std::string str() const;
  // Checks the text's rank against `rank` (when >= 0) and its axes against `mesh`.
  static Sharding parse(const std::string& text, const Mesh& mesh, int64_t rank = -1);
  bool operator==(const Sharding& o) const { return dims == o.dims && partial == o.partial && reduce == o.reduce; }
  bool operator!=(const Sharding& o) const { return !(*this == o); }

  // The shape each member holds; throws Shape naming the dim and axis when a split dim does
  // not divide (`what` names the value in the message).
  std::vector<Dim> local_shape(const std::vector<Dim>& global, const Mesh& mesh, const std::string& what) const;
};

// ";"-separated lists (in_shardings, out_shardings, a multi-result op's sharding); "" is none.
std::vector<std::string> split_shardings(const std::string& text);
// The module's `deterministic` attribute (tessera.dist.deterministic): reductions in a fixed order.
bool deterministic(const Module& m);
std::string join_shardings(const std::vector<Sharding>& s);

}  // namespace tessera::ir
