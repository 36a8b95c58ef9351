package dtm.model;

/** Where a model was loaded from. */
public enum ModelSource {
    /** A llama2.c model file (.bin) with its tokenizer.bin. */
    LLAMA2C,
    /** A Hugging Face checkpoint directory (config.json, safetensors, tokenizer.json). */
    HUGGING_FACE;

    static ModelSource ofCode(int code) {
        return code == 1 ? HUGGING_FACE : LLAMA2C;
    }
}
