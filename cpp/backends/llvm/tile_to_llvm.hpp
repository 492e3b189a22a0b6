// The shared Tile IR -> LLVM IR lowering.
//
// Every target lowers Tile IR ops to the same LLVM instructions (emitter_ops.cpp); targets
// differ only in how a program instance and its lanes are mapped to hardware, which they
// describe with TargetHooks:
//   - GPUs run one thread per lane (lanes_are_threads): a tile value is one register per
//     thread; tile.reduce combines lanes through shared memory (emit_threads.cpp).
//   - CPUs run a program instance on one core and loop over its lanes (emit_loops.cpp):
//     consecutive lane-wise ops share one loop that LLVM vectorises; tile values that live
//     across loops are kept in small per-instance arrays.
#pragma once
#include <functional>
#include <map>
#include <set>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include "ir/ir.hpp"

namespace tessera::backends {

class TargetHooks {
 public:
  virtual ~TargetHooks() = default;
  virtual bool lanes_are_threads() const = 0;
  // Creates the LLVM function that holds the kernel body, positions `b` in its entry block
  // and returns the buffer pointers (one per Tile IR parameter).
  virtual llvm::Function* begin_kernel(llvm::Module& m, const ir::Function& fn, llvm::IRBuilder<>& b,
                                       std::vector<llvm::Value*>& buffers) = 0;
  // Called after the body is complete (the CPU adds its grid-loop entry point here).
  virtual void end_kernel(llvm::Module& m, const ir::Function& fn, llvm::Function* body) {
    (void)m, (void)fn, (void)body;
  }
  virtual llvm::Value* program_id(llvm::IRBuilder<>& b, int axis) = 0;  // i64
  virtual llvm::Value* thread_id(llvm::IRBuilder<>& b) {
    (void)b;
    return nullptr;
  }  // i64
  virtual void barrier(llvm::IRBuilder<>& b) { (void)b; }
  virtual unsigned shared_address_space() const { return 3; }
  // Exchanges an i32 between the threads of a warp whose ids differ by `distance` (a power of
  // two below `width`, the threads taking part: the first `width` of the warp). Targets
  // without warp shuffles return nullptr, and tile.reduce goes through shared memory.
  virtual llvm::Value* shuffle_xor(llvm::IRBuilder<>& b, llvm::Value* v, int64_t distance, int64_t width) {
    (void)b, (void)v, (void)distance, (void)width;
    return nullptr;
  }
  virtual bool has_shuffle() const { return false; }
  // f32 -> bf16 rounding by the hardware (fptrunc); others round on the bits (no libcall).
  virtual bool native_bf16() const { return false; }
  // Address of element `offset` (i64) of a buffer; Vulkan SPIR-V has no pointer arithmetic
  // on buffers and overrides this.
  virtual llvm::Value* element_pointer(llvm::IRBuilder<>& b, llvm::Value* buffer, llvm::Type* elem,
                                       llvm::Value* offset) {
    return b.CreateInBoundsGEP(elem, buffer, offset);
  }
};

// Adds one LLVM function per kernel function of `tile_module` to `m`.
void lower_kernels(const ir::Module& tile_module, llvm::Module& m, TargetHooks& hooks);
void lower_kernels(const std::vector<const ir::Function*>& kernels, llvm::Module& m, TargetHooks& hooks);

llvm::Type* register_type(llvm::LLVMContext& ctx, DType t);  // bool -> i1
llvm::Type* memory_type(llvm::LLVMContext& ctx, DType t);    // bool -> i8

// e**x for f32/f64 (f16/bf16 go through f32) from + - * fma and bit tricks only, so the same
// code vectorises on CPUs and runs on every GPU target (math.cpp).
llvm::Value* emit_exp(llvm::IRBuilder<>& b, llvm::Value* x);
// The same for the other math functions (math.cpp, math_trig.cpp, math_special.cpp); each
// states its accuracy and special values there.
llvm::Value* emit_expm1(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_log(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_log1p(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_sin(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_cos(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_tanh(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_erf(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_erfc(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_sigmoid(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_pow(llvm::IRBuilder<>& b, llvm::Value* x, llvm::Value* y);
// math_inverse.cpp
llvm::Value* emit_atan(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_atan2(llvm::IRBuilder<>& b, llvm::Value* y, llvm::Value* x);
llvm::Value* emit_log2(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_log10(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emit_exp2(llvm::IRBuilder<>& b, llvm::Value* x);

// State and helpers shared by the two lane strategies.
class KernelEmitter {
 public:
  KernelEmitter(const ir::Function& fn, llvm::Module& m, TargetHooks& hooks);
  void emit();
  struct FlashKit;             // flash_kit.hpp: the attention kernels' fragments and copies (a member: private access)
  struct WgmmaGemm;            // kernels/wgmma_gemm.cpp: the Hopper GEMM's parts
  struct FmaGemm;              // emit_fma_gemm.cpp: the CUDA-core GEMM's parts
  struct FlashAttentionWgmma;  // emit_flash_attention_wgmma.cpp: the Hopper forward's parts
  struct FlashAttentionBwd;    // emit_flash_attention_bwd.cpp: the mma.sync backward's parts
  struct FlashAttentionBwdWgmma;  // emit_flash_attention_bwd_wgmma.cpp: the Hopper backward's parts
  struct MmaSyncGemm;             // emit_mma_sync.cpp: the mma.sync GEMM's parts

 private:
  // emitter_ops.cpp: one lane's (or one scalar's) worth of an op.
  llvm::Value* element_op(const ir::Op& op, const std::vector<llvm::Value*>& args, llvm::Value* lane);
  void element_store(const ir::Op& op, const std::vector<llvm::Value*>& args);
  llvm::Value* arith(const ir::Op& op, const std::vector<llvm::Value*>& args);
  llvm::Value* convert(llvm::Value* v, DType from, DType to);
  // `isolated`: a volatile load, which LLVM neither vectorises nor merges with other loads.
  llvm::Value* element_load(const ir::Op& op, const std::vector<llvm::Value*>& args, bool isolated = false);
  llvm::Value* combine(const std::string& kind, DType t, llvm::Value* a, llvm::Value* c);
  llvm::Value* identity(const std::string& kind, DType t);
  // Emits `then_fn` under `cond` (no else); returns nothing.
  template <class F>
  void emit_if(llvm::Value* cond, F then_fn);

  // emit_threads.cpp
  void threads_block(const ir::Block& block);
  void threads_for(const ir::Op& op);
  llvm::Value* threads_reduce(const ir::Op& op, llvm::Value* v);
  // Threads that own several lanes (kernel attribute `vector`, NVIDIA): a tile value is a
  // <per_thread_ x T> vector; component k of thread t is lane (k / vec_) * threads_ * vec_ +
  // t * vec_ + k % vec_, so each run of vec_ components is contiguous in memory.
  llvm::Value* lanewise(const ir::Op& op, const std::vector<llvm::Value*>& args);
  llvm::Value* lane_vector();
  llvm::Value* component(const ir::Op& op, const std::vector<llvm::Value*>& args, size_t i, int64_t k);
  // True when components [k, k + n) of the access are contiguous, unmasked and the address
  // is aligned to the n-element vector.
  llvm::Value* vector_ok(const ir::Op& op, const std::vector<llvm::Value*>& args, int64_t k, int64_t n, llvm::Type* mt);
  std::vector<llvm::Value*> element_args(const ir::Op& op, const std::vector<llvm::Value*>& args, int64_t k, int64_t j);
  int64_t access_width(DType t) const;  // components per vector access (16 bytes at most)
  llvm::Value* vector_load(const ir::Op& op, const std::vector<llvm::Value*>& args);
  void vector_store(const ir::Op& op, const std::vector<llvm::Value*>& args);
  // tile.reduce with warp shuffles: threads, then warps, then the block (emit_threads.cpp).
  llvm::Value* shuffle_reduce(const ir::Op& op, const std::vector<llvm::Value*>& args);
  llvm::Value* shuffle(llvm::Value* v, int64_t distance);

  // emit_loops.cpp
  void loops_block(const ir::Block& block);
  void loops_flush(std::vector<const ir::Op*>& group);
  void loops_for(const ir::Op& op);
  void loops_tree_reduce(const ir::Op& op);
  bool rematerializable(const ir::Value* v) const;
  llvm::Value* rematerialize(const ir::Value* v, llvm::Value* lane, std::map<const ir::Value*, llvm::Value*>& local);
  llvm::Value* lane_array(const ir::Value* v);
  llvm::Value* load_lane(const ir::Value* v, llvm::Value* lane);
  void store_lane(llvm::Value* array, const ir::Value* v, llvm::Value* lane, llvm::Value* x);
  void copy_lanes(llvm::Value* dst, llvm::Value* src, const ir::Value* v);
  bool escapes(const ir::Value* v, const std::set<const ir::Op*>& group) const;

  // emit_microkernel.cpp: the tile.microkernel micro-kernel (scalar operands; CPU lane strategy).
  void emit_microkernel(const ir::Op& op, const std::vector<llvm::Value*>& args);
  llvm::Value* emit_scratch(const ir::Op& op);  // tile.scratch: an instance-private buffer
  // emit_pack.cpp: tile.pack, one panel of a packed matmul operand.
  void emit_pack(const ir::Op& op, const std::vector<llvm::Value*>& args);
  // emit_mma_sync.cpp: tile.mma_sync, a block-tile GEMM on NVIDIA tensor cores (thread lane strategy).
  void emit_mma_sync(const ir::Op& op, const std::vector<llvm::Value*>& args);
  // 16-byte chunk copies of 16-bit GEMM tiles, shared by the mma.sync and wgmma kernels.
  llvm::Value* chunk_copies_ok(llvm::Value* A, llvm::Value* a_off, llvm::Value* lda, llvm::Value* B, llvm::Value* b_off,
                               llvm::Value* ldb, llvm::Value* K, llvm::Value* cols);
  void copy_chunk16(bool vector, llvm::Value* dst, llvm::Value* buf, llvm::Value* off, llvm::Value* ok, llvm::Value* p,
                    llvm::Value* limit);
  void store_c_pair(llvm::Value* C, llvm::Value* off, llvm::Value* col, llvm::Value* cols, llvm::Value* row,
                    llvm::Value* rows, llvm::Value* v0, llvm::Value* v1, llvm::Value* pairs_ok);
  // gemm_epilogue.cpp: the outputs of a block-GEMM op (c, then those its epilogue region adds)
  // and their values at one element of the product.
  struct GemmOutput {
    llvm::Value* ptr;
    DType dt;
  };
  std::vector<GemmOutput> gemm_outputs(const ir::Op& op, const std::vector<llvm::Value*>& args);
  // The outputs' values (in their dtypes) at element (row, col) of the block tile, from the f32
  // product `acc`; (m0, n0): the tile's origin inside the op's c view (persistent kernels), or null.
  std::vector<llvm::Value*> gemm_epilogue(const ir::Op& op, const std::vector<llvm::Value*>& args, llvm::Value* acc,
                                          llvm::Value* row, llvm::Value* col, llvm::Value* rows, llvm::Value* cols,
                                          llvm::Value* m0 = nullptr, llvm::Value* n0 = nullptr,
                                          DType acc_dt = DType::F32);
  // A run of n = vals.size() values of one output row at element `off`, columns col ..: vector
  // stores of up to 16 bytes when `aligned` (run_aligned) and the run lies inside `cols`, else
  // element by element under the column mask.
  llvm::Value* run_aligned(const GemmOutput& o, llvm::Value* ld, llvm::Value* off, int n);
  void store_run(const GemmOutput& o, llvm::Value* off, const std::vector<llvm::Value*>& vals, llvm::Value* col,
                 llvm::Value* cols, llvm::Value* aligned);
  // emit_fma_gemm.cpp: tile.fma_gemm, an f32 block-tile GEMM on CUDA cores.
  void emit_fma_gemm(const ir::Op& op, const std::vector<llvm::Value*>& args);
  // kernels/wgmma_gemm.cpp: tile.wgmma_gemm, the Hopper (sm_90a) block-tile GEMM.
  void emit_wgmma(const ir::Op& op, const std::vector<llvm::Value*>& args);
  // Two f32 values rounded to a 16-bit dtype and packed in an i32, the first in the low half
  // (one cvt.rn.{bf16,f16}x2.f32), and the 16-byte stores of 16-bit wgmma accumulator rows after
  // a transpose across the quad (kernels/quad_stores.cpp; the GEMM's and the attention kernel's epilogues).
  llvm::Value* pack_pair(llvm::Value* lo, llvm::Value* hi, DType dt);
  void store_quad_16(llvm::Value* C, DType dt, llvm::Value* c_off, llvm::Value* ldc, llvm::Value* row,
                     llvm::Value* row_in, llvm::Value* t, int q, llvm::Value* v[4], llvm::Value* cols,
                     const std::function<llvm::Value*()>& aligned);
  // emit_flash_attention.cpp: tile.flash_attention, one query block of flash attention (NVIDIA).
  void emit_flash_attention(const ir::Op& op, const std::vector<llvm::Value*>& args);
  // emit_flash_attention_wgmma.cpp: tile.flash_attention_wgmma, the Hopper (sm_90a) forward.
  void emit_flash_attention_wgmma(const ir::Op& op, const std::vector<llvm::Value*>& args);
  // emit_flash_attention_bwd.cpp: tile.flash_attention_bwd, dq of a query block or dk/dv of a key block.
  void emit_flash_attention_bwd(const ir::Op& op, const std::vector<llvm::Value*>& args);
  // emit_flash_attention_bwd_wgmma.cpp: tile.flash_attention_bwd_wgmma, the Hopper (sm_90a) backward.
  void emit_flash_attention_bwd_wgmma(const ir::Op& op, const std::vector<llvm::Value*>& args);

  llvm::Value* scalar(const ir::Value* v) const;

  // The skeleton of a counted loop (a tile.for, or a micro-kernel's own loops): `header` holds
  // the induction variable phi (and the caller's phis); it branches to `body` while iv < ub,
  // else to `exit`. The caller fills `body` and calls end_loop.
  struct ForLoop {
    llvm::BasicBlock *pre, *header, *body, *exit;
    llvm::PHINode* iv;
    llvm::Value* step;
  };
  // Leaves the builder in `header`, before its branch (callers add their phis there).
  ForLoop begin_loop(llvm::Value* lb, llvm::Value* step, const char* name);
  void enter_loop_body(ForLoop& loop, llvm::Value* ub);
  llvm::BranchInst* end_loop(ForLoop& loop);  // back edge from the current block; returns it
  // A loop lb <= iv < ub (i64, step 1) carrying `state` (values of any type) in phis:
  // body(iv, next) receives the phis in `next` and leaves there the values of the next
  // iteration; afterwards `state` holds the phis (the values at exit). Returns the back edge.
  llvm::BranchInst* loop_with_state(llvm::Value* lb, llvm::Value* ub, const char* name,
                                    std::vector<llvm::Value*>& state,
                                    const std::function<void(llvm::Value*, std::vector<llvm::Value*>&)>& body);
  // The same for a tile.for op (its bounds, and its induction variable bound in values_).
  ForLoop begin_for(const ir::Op& op);
  void enter_for_body(ForLoop& loop, const ir::Op& op) { enter_loop_body(loop, scalar(op.operands[1])); }
  void end_for(ForLoop& loop) { end_loop(loop); }

  const ir::Function& fn_;
  llvm::Module& m_;
  TargetHooks& hooks_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  llvm::Function* f_ = nullptr;
  int64_t lanes_ = 1;
  int64_t loop_depth_ = 0;                           // tile.for nesting in the threads strategy
  int64_t vec_ = 1, threads_ = 1, per_thread_ = 1;   // lanes_ = per_thread_ * threads_ (threads strategy)
  std::map<const ir::Value*, llvm::Value*> values_;  // scalars; tiles too when lanes are threads
  std::map<const ir::Value*, llvm::Value*> arrays_;  // loops: per-instance arrays of tile values
  std::map<std::pair<llvm::Type*, int64_t>, llvm::Value*> tree_scratch_;  // loops: tile.reduce trees
  std::map<const ir::Value*, std::vector<const ir::Op*>> users_;
  llvm::Value* tid_ = nullptr;
};

template <class F>
void KernelEmitter::emit_if(llvm::Value* cond, F then_fn) {
  llvm::BasicBlock* then_bb = llvm::BasicBlock::Create(ctx_, "then", f_);
  llvm::BasicBlock* cont_bb = llvm::BasicBlock::Create(ctx_, "cont", f_);
  b_.CreateCondBr(cond, then_bb, cont_bb);
  b_.SetInsertPoint(then_bb);
  then_fn();
  b_.CreateBr(cont_bb);
  b_.SetInsertPoint(cont_bb);
}

}  // namespace tessera::backends
