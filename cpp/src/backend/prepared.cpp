#include "backend/prepared.h"

#include "model/model.h"

namespace dtm {

PreparedPtr PreparedSlot::get(const std::string & device, const std::function<PreparedPtr()> & make) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto & [name, copy] : copies_) {
        if (name == device) return copy;
    }
    // Made under the lock: a second caller for the same object waits rather
    // than uploading a second copy.
    PreparedPtr made = make();
    copies_.emplace_back(device, made);
    return made;
}

PreparedPtr PreparedSlot::find(const std::string & device) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto & [name, copy] : copies_) {
        if (name == device) return copy;
    }
    return nullptr;
}

size_t PreparedSlot::size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return copies_.size();
}

PreparedModel prepare_model(const Model & model, const std::string & device,
                            const std::function<PreparedPtr(const Linear &)> & prepare_linear,
                            const std::function<PreparedPtr(const Model &)> & prepare_views) {
    PreparedModel out;
    auto add = [&](const Linear & lin) {
        if (out.linears.count(&lin)) return;
        out.linears.emplace(&lin, lin.prepared().get(device, [&] { return prepare_linear(lin); }));
    };
    for (int32_t l = 0; l < model.config().n_layers; ++l) {
        const LayerLinears & L = model.layer(l);
        for (int32_t k = 0; k < Model::kComponentsPerLayer; ++k) add(*L.slot(k));
    }
    add(model.classifier());
    out.views = model.prepared_views().get(device, [&] { return prepare_views(model); });
    return out;
}

}  // namespace dtm
