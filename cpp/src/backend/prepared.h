// prepared.h - weights placed on a device once, shared by everything that
// shares the host object they were made from.
//
// A device backend (not the CPU, which runs every weight format as it is
// built) keeps its own copy of a model's weights in device memory: its
// "prepared" copy. Copies are kept with the host object they were made from,
// in a PreparedSlot, keyed by the device name ("cuda:0"):
//
//   - every Linear has a slot (Linear::prepared()): a candidate model holds
//     its unchanged Linears through the base's shared_ptr, so it finds their
//     prepared copies there and prepares only the Linears it replaced;
//   - a model file's norm weights, biases and embedding have one slot per
//     loaded file (Model::prepared_views()), shared with every candidate.
//
// A slot frees its copies with the object that holds it (the last
// shared_ptr to a Linear gone, its device copies go too). Slots are
// thread-safe: sessions on different threads that prepare the same Linear
// for the same device make one copy, the others wait for it.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dtm {

class Linear;
class Model;

// A backend's copy of some weights on its device; freed by its destructor.
class PreparedWeights {
public:
    virtual ~PreparedWeights() = default;
};
using PreparedPtr = std::shared_ptr<PreparedWeights>;

class PreparedSlot {
public:
    PreparedSlot() = default;
    // A copy of the object holding a slot is another object: it starts empty.
    PreparedSlot(const PreparedSlot &) {}
    PreparedSlot & operator=(const PreparedSlot &) { return *this; }

    // The copy for `device`, made by make() on the first call for that
    // device (once: concurrent callers wait and get the same copy). A make()
    // that throws leaves the slot without a copy for that device.
    PreparedPtr get(const std::string & device, const std::function<PreparedPtr()> & make) const;
    // The copy for `device`, or nullptr when none was made.
    PreparedPtr find(const std::string & device) const;
    // How many devices hold a copy.
    size_t size() const;

private:
    mutable std::mutex mutex_;
    mutable std::vector<std::pair<std::string, PreparedPtr>> copies_;  // few devices: a list
};

// The prepared copies a backend's session uses, found once when it is made
// (Backend::prepare) so that running a Linear is a map lookup.
struct PreparedModel {
    std::unordered_map<const Linear *, PreparedPtr> linears;
    PreparedPtr views;  // the model file's norms, biases and embedding
};

// What a device backend's prepare() does: every distinct Linear of `model`
// (the layers' seven matrices and the head) through its slot for `device`,
// made by prepare_linear() where the slot has none yet, and the model
// file's views once through Model::prepared_views() with prepare_views().
PreparedModel prepare_model(const Model & model, const std::string & device,
                            const std::function<PreparedPtr(const Linear &)> & prepare_linear,
                            const std::function<PreparedPtr(const Model &)> & prepare_views);

}  // namespace dtm
