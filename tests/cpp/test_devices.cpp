// test_devices.cpp - the device registry of dtm.h (dtm_n_devices /
// dtm_device) and dtm_session_params.device: the CPU is always there, a
// device this build or machine lacks refuses the session with UNSUPPORTED
// and a one-line message naming it.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

#include "dtm/dtm.h"
#include "test_support.h"

namespace {

struct Devices : ::testing::Test {
    void SetUp() override {
        ASSERT_EQ(dtm_model_load(dtm::test::write_tiny_model(dtm::test::temp_dir(), {}).c_str(),
                                 dtm_model_default_params(), &model), DTM_OK) << dtm_last_error();
    }
    void TearDown() override { dtm_model_free(model); }

    // Creates a session on `device` and returns its status; *out_msg gets the error.
    int32_t create_on(const char * device, std::string * out_msg = nullptr) {
        dtm_session_params p = dtm_session_default_params();
        p.n_threads = 1;
        p.device = device;
        dtm_session * s = reinterpret_cast<dtm_session *>(0x1);
        const int32_t status = dtm_session_create(model, p, &s);
        if (out_msg) *out_msg = dtm_last_error();
        if (status != DTM_OK) {
            EXPECT_EQ(s, nullptr) << "a refused session leaves no handle";
        }
        dtm_session_free(status == DTM_OK ? s : nullptr);
        return status;
    }
    dtm_model * model = nullptr;
};

TEST(DeviceList, TheCpuComesFirstAndEveryEntryIsFilled) {
    const int32_t n = dtm_n_devices();
    ASSERT_GE(n, 1);
    std::set<std::string> names;
    for (int32_t i = 0; i < n; ++i) {
        dtm_device_info d;
        ASSERT_EQ(dtm_device(i, &d), DTM_OK) << dtm_last_error();
        const std::string name(d.name, strnlen(d.name, sizeof d.name));
        ASSERT_LT(name.size(), sizeof d.name) << "names are terminated";
        ASSERT_LT(strnlen(d.description, sizeof d.description), sizeof d.description);
        EXPECT_FALSE(name.empty());
        EXPECT_GT(std::string(d.description).size(), 0u) << name;
        EXPECT_GE(d.compute_units, 1) << name;
        EXPECT_GE(d.memory_bytes, 0) << name;
        EXPECT_TRUE(names.insert(name).second) << "device " << name << " listed twice";
        if (i == 0) {
            EXPECT_EQ(name, "cpu");
            EXPECT_GT(d.memory_bytes, 0);
            // The description names the kernel path the CPU runs best.
            EXPECT_NE(std::string(d.description).find(dtm_isa_name(dtm_cpu_best_isa())), std::string::npos)
                << d.description;
        } else {
            EXPECT_EQ(name.compare(0, 5, "cuda:"), 0) << name;
        }
    }
}

TEST(DeviceList, BadIndexOrNullIsInvalid) {
    dtm_device_info d;
    EXPECT_EQ(dtm_device(-1, &d), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dtm_device(dtm_n_devices(), &d), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("device index"), std::string::npos) << dtm_last_error();
    EXPECT_EQ(dtm_device(0, nullptr), DTM_ERR_INVALID_ARGUMENT);
}

TEST(DeviceList, DefaultParamsNameTheCpu) {
    const dtm_session_params p = dtm_session_default_params();
    ASSERT_NE(p.device, nullptr);
    EXPECT_STREQ(p.device, "cpu");
}

TEST_F(Devices, NullAndCpuRunOnTheCpu) {
    for (const char * device : {static_cast<const char *>(nullptr), "cpu"}) {
        dtm_session_params p = dtm_session_default_params();
        p.n_threads = 1;
        p.device = device;
        dtm_session * s = nullptr;
        ASSERT_EQ(dtm_session_create(model, p, &s), DTM_OK) << dtm_last_error();
        EXPECT_STREQ(dtm_session_device(s), "cpu");
        dtm_session_free(s);
    }
    EXPECT_EQ(dtm_session_device(nullptr), nullptr);
}

TEST_F(Devices, EveryListedDeviceTakesASession) {
    for (int32_t i = 0; i < dtm_n_devices(); ++i) {
        dtm_device_info d;
        ASSERT_EQ(dtm_device(i, &d), DTM_OK);
        EXPECT_EQ(create_on(d.name), DTM_OK) << d.name << ": " << dtm_last_error();
    }
}

TEST_F(Devices, AnAbsentDeviceIsUnsupportedAndNamedInOneLine) {
    std::set<std::string> listed;
    for (int32_t i = 0; i < dtm_n_devices(); ++i) {
        dtm_device_info d;
        ASSERT_EQ(dtm_device(i, &d), DTM_OK);
        listed.insert(d.name);
    }
    for (const char * device : {"cuda:0", "cuda:99", "cuda:", "tpu", "", "CPU", "cpu:0", "cpu "}) {
        if (listed.count(device)) continue;  // a CUDA build on a machine with that device
        std::string msg;
        EXPECT_EQ(create_on(device, &msg), DTM_ERR_UNSUPPORTED) << device;
        EXPECT_NE(msg.find(std::string("\"") + device + "\""), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    std::string msg;
    if (!listed.count("cuda:0")) {
        EXPECT_EQ(create_on("cuda:0", &msg), DTM_ERR_UNSUPPORTED);
        EXPECT_NE(msg.find("CUDA"), std::string::npos) << "says why: " << msg;
    }
    // A name with a line break or of any length still gives one short line.
    const std::string odd = "cuda:0\nrm -rf /" + std::string(1000, 'x');
    EXPECT_EQ(create_on(odd.c_str(), &msg), DTM_ERR_UNSUPPORTED);
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_LT(msg.size(), 300u) << msg;
}

TEST_F(Devices, TheDeviceIsCheckedBeforeTheOtherParams) {
    dtm_session_params p = dtm_session_default_params();
    p.device = "no-such-device";
    p.isa = 42;        // would be INVALID_ARGUMENT on the CPU
    p.n_threads = -1;  // likewise
    dtm_session * s = nullptr;
    EXPECT_EQ(dtm_session_create(model, p, &s), DTM_ERR_UNSUPPORTED);
    EXPECT_EQ(s, nullptr);
}

TEST(DeviceList, TheCrossBackendToleranceIsNamedAndSmall) {
    // dtm.h's numeric contract: a named absolute tolerance on logits across
    // backends (within one backend results are bitwise, tested elsewhere).
    EXPECT_GT(DTM_BACKEND_LOGIT_TOLERANCE, 0.0f);
    EXPECT_LE(DTM_BACKEND_LOGIT_TOLERANCE, 1e-2f);
}

}  // namespace
