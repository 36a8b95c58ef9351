// hf_export.h - a model (a base or a compressed candidate) as a Hugging Face
// checkpoint that transformers and vLLM load.
//
// config.json (as model/hf_checkpoint.h's hf_config_json writes it, with
// tie_word_embeddings saying whether lm_head.weight is written and
// torch_dtype the checkpoint's dtype) and model.safetensors:
//   - the checkpoint's dtype is that of the model's embedding: float32, or
//     bfloat16 / float16 for a checkpoint kept in 16 bits. Every float
//     tensor is written in it when its values are exact in it (a pruned
//     matrix of a 16-bit checkpoint is: pruning only zeroes), else in F32,
//     so loading the directory gives bitwise the model's weights;
//   - fp32, sparse, fp16 and bf16 matrices dense (zeros where pruned), q/k
//     rows in Hugging Face's rotate-half order;
//   - naive int8 (W8A8) matrices in compressed-tensors' "int-quantized"
//     layout, which vLLM runs: "<module>.weight" I8 (rows, cols) and
//     "<module>.weight_scale" F32 (rows, 1), symmetric per output channel
//     (weight = weight_scale * int8), with config.json's quantization_config
//     naming dynamic symmetric per-token int8 activations and listing every
//     unquantized Linear (lm_head included) under "ignore".
// Refused with DTM_ERR_UNSUPPORTED, naming the component and why: the
// formats no compressed-tensors scheme holds as dtm runs them (int8-outlier,
// int8-weight, q8_0, q4_0), an int8 lm_head (vLLM runs the output head
// unquantized), and int8 on only some of q/k/v or of gate/up of a layer
// (vLLM fuses each group into one matrix of one scheme).
#pragma once

#include <cstdint>
#include <string>

namespace dtm {

class Model;

// Writes config.json and model.safetensors into `dir` (created if needed),
// each through a temporary file and a rename; returns the bytes written.
// Throws dtm::Error: DTM_ERR_UNSUPPORTED (see above), DTM_ERR_IO.
uint64_t export_hf(const Model & model, const std::string & dir);

}  // namespace dtm
