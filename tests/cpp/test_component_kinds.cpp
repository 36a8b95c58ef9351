// dtm_component_kind_hf_name gives each kind its Hugging Face name from the
// architecture table, the names a loaded model's components carry.
#include <gtest/gtest.h>

#include <string>

#include "dtm/dtm.h"
#include "test_support.h"

namespace {

TEST(ComponentKinds, HuggingFaceNamesComeFromTheArchitectureTable) {
    EXPECT_STREQ(dtm_component_kind_hf_name(DTM_COMPONENT_Q_PROJ), "self_attn.q_proj");
    EXPECT_STREQ(dtm_component_kind_hf_name(DTM_COMPONENT_DOWN_PROJ), "mlp.down_proj");
    EXPECT_STREQ(dtm_component_kind_hf_name(DTM_COMPONENT_EMBEDDING), "model.embed_tokens");
    EXPECT_STREQ(dtm_component_kind_hf_name(DTM_COMPONENT_LM_HEAD), "lm_head");
    EXPECT_EQ(dtm_component_kind_hf_name(-1), nullptr);
    EXPECT_EQ(dtm_component_kind_hf_name(DTM_COMPONENT_LM_HEAD + 1), nullptr);
}

TEST(ComponentKinds, EveryComponentOfAModelIsNamedByItsKind) {
    const std::string path = dtm::test::write_tiny_model(dtm::test::temp_dir(), dtm::test::TinyModelSpec{});
    dtm_model * model = nullptr;
    ASSERT_EQ(dtm_model_load(path.c_str(), dtm_model_default_params(), &model), DTM_OK) << dtm_last_error();
    const int32_t n = dtm_model_n_components(model);
    ASSERT_GT(n, 0);
    for (int32_t i = 0; i < n; i++) {
        dtm_component_info info;
        ASSERT_EQ(dtm_model_component(model, i, &info), DTM_OK);
        const std::string hf = dtm_component_kind_hf_name(info.kind);
        const std::string expected = info.layer < 0 ? hf : "model.layers." + std::to_string(info.layer) + "." + hf;
        EXPECT_EQ(std::string(info.name), expected);
    }
    dtm_model_free(model);
}

}  // namespace
