// Building blocks of composite ops (ops whose `decompose` builds them from other Graph IR
// ops): small builders shared by ops_nn.cpp, ops_norms.cpp, ops_losses.cpp and
// ops_rearrange.cpp.
//
// f16/bf16 inputs of the numeric composites are widened to f32 for the whole decomposition and
// rounded once at the end: intermediate sums and exponentials would lose too much in 16 bits
// (PyTorch does the same).
#pragma once
#include <string>
#include <vector>

#include "ir/op_rules.hpp"

namespace tessera::ir::composite {

Value* op1(Builder& b, const std::string& name, Value* x, AttrMap a = {});
Value* op2(Builder& b, const std::string& name, Value* x, Value* y);
Value* cast_to(Builder& b, Value* x, DType dt);
// Widens f16/bf16 to f32 (see the file comment); other dtypes stay.
Value* widen(Builder& b, Value* x);
Value* reshape_to(Builder& b, Value* x, const Type& t);
// The result types `op` would have on these operands and attributes (its registry rule).
std::vector<Type> infer_as(const std::string& op, const std::vector<Type>& in, const AttrMap& a);
// An OpInfo of a composite with fixed operands (the caller sets infer and decompose).
OpInfo make(const std::string& name, OpClass cls, std::vector<std::string> operands, std::vector<AttrSpec> attrs,
            const std::string& summary);
// The op's `axis` attribute (default `dflt`), normalised against operand 0.
int64_t axis_of(const Op& op, int64_t dflt);

// OpInfo::cpu_only of composites built on scatter_add / scatter (segment ops, sparse products,
// unique, MoE routing): why they do not run on GPU targets yet.
extern const char* const kBuiltOnScatter;

// Losses: the `reduction` attribute ("mean", "sum" or "none"), the result type it gives, and
// the reduction applied to per-element losses.
extern const AttrSpec kReduction;
const std::string& reduction_of(const Op& op);
Type reduced_loss(const std::string& op, const AttrMap& a, const Type& per_element);
Value* reduce_loss(Builder& b, const Op& op, Value* per_element);

}  // namespace tessera::ir::composite
