// gguf_export.h - a model (a base or a compressed candidate) as a GGUF file
// of llama.cpp's "llama" architecture.
//
// Tensors (llama.cpp's names; shapes as GGUF lists them, innermost first):
//   token_embd.weight  {dim, vocab}      F32, or F16/BF16 when the model
//                                        keeps its embedding in 16 bits
//   output_norm.weight {dim}             F32
//   output.weight      {dim, vocab}      only when the head is not the
//                                        embedding itself (untied, or a tied
//                                        head that was compressed)
//   blk.L.attn_norm.weight, blk.L.ffn_norm.weight {dim}   F32
//   blk.L.attn_q/attn_k/attn_v/attn_output.weight,
//   blk.L.ffn_gate/ffn_up/ffn_down.weight                  see below
//   blk.L.attn_q/_k/_v/_output.bias, blk.L.ffn_gate/_up/_down.bias  F32, when the model has them
//   rope_freqs.weight  {head_dim / 2}    F32, llama3 rope scaling only: the
//                                        divisor of each frequency
// Each matrix is written in the type of its storage format
// (gguf_type_of): fp32 -> F32; fp16 -> F16; bf16 -> BF16; q8_0 -> Q8_0 and
// q4_0 -> Q4_0 with the very blocks dtm evaluated (dtm's block layout is
// ggml's block_q8_0 / block_q4_0); sparse (pruned) -> F32, dense with its
// zeros; int8, int8-outlier and int8-weight, which GGUF has no type for ->
// Q8_0 quantized from the component's effective weights (zeros stay zero).
// q/k rows are written in the engine's order, which is llama.cpp's (RoPE on
// interleaved pairs; model/hf_checkpoint.h).
//
// Metadata: general.architecture = llama, general.name, llama.* (context,
// widths, heads, kv heads, rope dimension and base, RMSNorm epsilon, vocab
// size, key/value length when head_dim != dim / heads, rope scaling) and
// the tokenizer (tokenizer.ggml.*) from GgufVocabulary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dtm/dtm.h"
#include "export/gguf_file.h"

namespace dtm {

class Model;

// The tokenizer as GGUF stores it (tokenizer.ggml.*).
struct GgufVocabulary {
    enum class Kind { kSentencePiece, kBytePairs };  // "llama" / "gpt2"
    Kind kind = Kind::kSentencePiece;
    std::vector<std::string> tokens;  // id order, UTF-8 (byte tokens as "<0xXX>")
    std::vector<float> scores;        // empty, or one per token
    std::vector<int32_t> types;       // one per token: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
    std::vector<std::string> merges;  // "left right", in rank order (byte pairs only)
    int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;  // -1 = none
    bool add_bos = true, add_eos = false, add_space_prefix = true;
    std::string pre;                  // tokenizer.ggml.pre (byte pairs only), e.g. "llama-bpe"
};

// The GGUF type a matrix of `format` is written in (see above).
gguf::TensorType gguf_type_of(dtm_weight_format format);

// Writes `model` with `vocabulary` to `path` (temporary file + rename);
// `name` goes into general.name when not empty. Returns the file's size.
// Throws dtm::Error: DTM_ERR_INVALID_ARGUMENT for a vocabulary that does not
// fit the model (size, ids, lengths of scores and types, merges for a
// SentencePiece vocabulary, missing ones for byte pairs) and
// DTM_ERR_UNSUPPORTED for what llama.cpp's llama architecture cannot hold
// (dynamic NTK rope scaling), each naming the value and why; DTM_ERR_IO.
uint64_t export_gguf(const Model & model, const GgufVocabulary & vocabulary, const std::string & name,
                     const std::string & path);

}  // namespace dtm
