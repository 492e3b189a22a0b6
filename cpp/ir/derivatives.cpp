// Derivative rules (VJP and JVP) of the Graph IR ops, attached to their registry entries.
//
// Rules build ordinary Graph IR with the Builder, so gradients are programs like any other:
// they fuse, compile for every target and can be differentiated again (any order). Where an
// operand was broadcast, its cotangent is summed back to the operand's shape. The rule
// families live in derivatives_math.cpp and derivatives_shape.cpp; shared builders in
// derivatives_common.cpp.
#include "ir/derivatives.hpp"

namespace tessera::ir {

void attach_derivatives(std::map<std::string, OpInfo>& table) {
  using namespace derivative;
  attach(
      table, "add",
      [](Builder& b, const Op& op, Value* g) {
        return std::vector<Value*>{to_operand(b, g, op.operands[0]->type), to_operand(b, g, op.operands[1]->type)};
      },
      [](Builder& b, const Op&, const std::vector<Value*>& t) { return add_maybe(b, t[0], t[1]); });
  attach(
      table, "sub",
      [](Builder& b, const Op& op, Value* g) {
        return std::vector<Value*>{to_operand(b, g, op.operands[0]->type),
                                   to_operand(b, b.value("neg", {g}), op.operands[1]->type)};
      },
      [](Builder& b, const Op&, const std::vector<Value*>& t) {
        return add_maybe(b, t[0], t[1] ? b.value("neg", {t[1]}) : nullptr);
      });
  attach(
      table, "mul",
      [](Builder& b, const Op& op, Value* g) {
        Value *x = op.operands[0], *y = op.operands[1];
        return std::vector<Value*>{to_operand(b, b.value("mul", {g, y}), x->type),
                                   to_operand(b, b.value("mul", {g, x}), y->type)};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) {
        Value* a = t[0] ? b.value("mul", {t[0], op.operands[1]}) : nullptr;
        Value* c = t[1] ? b.value("mul", {op.operands[0], t[1]}) : nullptr;
        return add_maybe(b, a, c);
      });
  attach(
      table, "neg", [](Builder& b, const Op&, Value* g) { return std::vector<Value*>{b.value("neg", {g})}; },
      [](Builder& b, const Op&, const std::vector<Value*>& t) { return b.value("neg", {t[0]}); });
  attach(
      table, "exp",
      [](Builder& b, const Op& op, Value* g) { return std::vector<Value*>{b.value("mul", {g, op.result()})}; },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) { return b.value("mul", {t[0], op.result()}); });
  attach(
      table, "relu",
      [](Builder& b, const Op& op, Value* g) {
        return std::vector<Value*>{b.value("mul", {g, positive_mask(b, op.operands[0])})};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) {
        return b.value("mul", {t[0], positive_mask(b, op.operands[0])});
      });
  attach(
      table, "maximum",
      [](Builder& b, const Op& op, Value* g) {
        // Ties send the gradient to x, as NumPy-style maximum picks x.
        Value *x = op.operands[0], *y = op.operands[1];
        Value* pick_x = b.value("greater_equal", {x, y});
        Value* zero = b.graph_constant(g->type.dtype, 0.0);
        return std::vector<Value*>{to_operand(b, b.value("where", {pick_x, g, zero}), x->type),
                                   to_operand(b, b.value("where", {pick_x, zero, g}), y->type)};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) {
        Value* pick_x = b.value("greater_equal", {op.operands[0], op.operands[1]});
        Value* tx = t[0] ? t[0] : zeros(b, op.result()->type);
        Value* ty = t[1] ? t[1] : zeros(b, op.result()->type);
        return b.value("where", {pick_x, tx, ty});
      });
  attach_movement(table);
  attach_scans(table);
  attach_linalg(table);
  attach_decompositions(table);
  attach_math(table);
  attach_functions(table);
  attach_reductions(table);
  attach_indexing(table);
  attach(
      table, "remat_barrier", [](Builder&, const Op&, Value* g) { return std::vector<Value*>{g}; },
      [](Builder&, const Op&, const std::vector<Value*>& t) { return t[0]; });
  attach(
      table, "stop_gradient", [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr}; },
      [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
  attach(
      table, "checked",  // the identity in x; the check itself has no derivative
      [](Builder&, const Op&, Value* g) { return std::vector<Value*>{g, nullptr}; },
      [](Builder&, const Op&, const std::vector<Value*>& t) { return t[0]; });
  attach(
      table, "debug_print",  // a token: nothing flows back into the printed values
      [](Builder&, const Op& op, Value*) { return std::vector<Value*>(op.operands.size(), nullptr); },
      [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
  attach(
      table, "constant", [](Builder&, const Op&, Value*) { return std::vector<Value*>{}; },
      [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
}

}  // namespace tessera::ir
