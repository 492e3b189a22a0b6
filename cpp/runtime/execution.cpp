// Exported tsr* functions for streams, events, modules, kernel launches and graphs: validate the
// handles (live, on matching devices), then dispatch to the CPU or CUDA back end.
#include "runtime/validate.hpp"

using namespace tessera::rt;

extern "C" {

// ---- streams and events ----

TSR_API tsrStatus tsrStreamCreate(tsrDevice device, tsrStream* stream) {
  return api("tsrStreamCreate", [&] {
    if (!stream) return invalid("stream is NULL");
    *stream = nullptr;
    if (tsrStatus s = check_device("device", device)) return s;
    auto h = std::make_unique<tsrStream_t>();
    h->device = device;
    if (device.type == TSR_DEVICE_CUDA)
      if (tsrStatus s = cuda::stream_create(h.get())) return s;
    live_streams().add(h.get());
    *stream = h.release();
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrStreamDestroy(tsrStream stream) {
  return api("tsrStreamDestroy", [&] {
    if (!stream) return invalid("stream is NULL (the default stream cannot be destroyed)");
    if (!live_streams().remove(stream)) return check_stream("stream", stream);
    std::unique_ptr<tsrStream_t> h(stream);  // the handle is gone even if the driver complains
    return h->device.type == TSR_DEVICE_CUDA ? cuda::stream_destroy(h.get()) : TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrStreamSynchronize(tsrStream stream) {
  return api("tsrStreamSynchronize", [&] {
    if (!stream) return invalid("stream is NULL (use tsrDeviceSynchronize for a device's default stream)");
    if (tsrStatus s = check_stream("stream", stream)) return s;
    return stream->device.type == TSR_DEVICE_CUDA ? cuda::stream_synchronize(stream) : TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrStreamWaitEvent(tsrStream stream, tsrEvent event) {
  return api("tsrStreamWaitEvent", [&] {
    if (tsrStatus s = check_event("event", event)) return s;
    if (stream)
      if (tsrStatus s = check_stream("stream", stream)) return s;
    if (event->device.type == TSR_DEVICE_CPU) return TSR_SUCCESS;  // complete once recorded
    if (stream && stream->device.type == TSR_DEVICE_CPU)           // CPU work runs now: wait here
      return event->recorded.load() ? cuda::event_synchronize(event) : TSR_SUCCESS;
    return cuda::stream_wait_event(stream ? stream->device.index : event->device.index, stream, event);
  });
}

TSR_API tsrStatus tsrEventCreate(tsrDevice device, tsrEvent* event) {
  return api("tsrEventCreate", [&] {
    if (!event) return invalid("event is NULL");
    *event = nullptr;
    if (tsrStatus s = check_device("device", device)) return s;
    auto h = std::make_unique<tsrEvent_t>();
    h->device = device;
    if (device.type == TSR_DEVICE_CUDA)
      if (tsrStatus s = cuda::event_create(h.get())) return s;
    live_events().add(h.get());
    *event = h.release();
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrEventDestroy(tsrEvent event) {
  return api("tsrEventDestroy", [&] {
    if (!event) return invalid("event is NULL");
    if (!live_events().remove(event)) return check_event("event", event);
    std::unique_ptr<tsrEvent_t> h(event);
    return h->device.type == TSR_DEVICE_CUDA ? cuda::event_destroy(h.get()) : TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrEventRecord(tsrEvent event, tsrStream stream) {
  return api("tsrEventRecord", [&] {
    if (tsrStatus s = check_event("event", event)) return s;
    if (tsrStatus s = check_stream_on(stream, event->device)) return s;
    if (event->device.type == TSR_DEVICE_CPU) {
      event->cpu_ns.store(cpu::now_ns());  // CPU streams are synchronous: all prior work is done
    } else if (tsrStatus s = cuda::event_record(event, stream)) {
      return s;
    }
    event->recorded.store(true);
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrEventSynchronize(tsrEvent event) {
  return api("tsrEventSynchronize", [&] {
    if (tsrStatus s = check_event("event", event)) return s;
    return event->device.type == TSR_DEVICE_CUDA ? cuda::event_synchronize(event) : TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrEventElapsedMs(tsrEvent start, tsrEvent end, float* ms) {
  return api("tsrEventElapsedMs", [&] {
    if (!ms) return invalid("ms is NULL");
    if (tsrStatus s = check_event("start", start)) return s;
    if (tsrStatus s = check_event("end", end)) return s;
    if (!same_device(start->device, end->device))
      return invalid(cat("start is on ", device_str(start->device), " but end is on ", device_str(end->device)));
    if (!start->recorded.load()) return invalid("start has not been recorded");
    if (!end->recorded.load()) return invalid("end has not been recorded");
    if (start->device.type == TSR_DEVICE_CUDA) return cuda::event_elapsed_ms(start, end, ms);
    *ms = float(double(end->cpu_ns.load() - start->cpu_ns.load()) / 1e6);
    return TSR_SUCCESS;
  });
}

// ---- modules and kernels ----

TSR_API tsrStatus tsrModuleLoadHost(const tsrHostKernelEntry* entries, int32_t count, tsrModule* module) {
  return api("tsrModuleLoadHost", [&] {
    if (!module) return invalid("module is NULL");
    *module = nullptr;
    if (count < 0) return invalid(cat("count is ", count, "; it must be >= 0"));
    if (!entries && count > 0) return invalid("entries is NULL");
    auto h = std::make_unique<tsrModule_t>();
    h->device = {TSR_DEVICE_CPU, 0};
    if (tsrStatus s = cpu::module_load_host(entries, count, h.get())) return s;
    live_modules().add(h.get());
    *module = h.release();
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrModuleLoadData(tsrDevice device, const void* image, size_t size, tsrModule* module) {
  return api("tsrModuleLoadData", [&] {
    if (!module) return invalid("module is NULL");
    *module = nullptr;
    if (!image) return invalid("image is NULL");
    if (size == 0) return invalid("size is 0");
    if (tsrStatus s = check_device("device", device)) return s;
    if (device.type == TSR_DEVICE_CPU)
      return set_error(TSR_ERROR_NOT_SUPPORTED, "CPU modules come from tsrModuleLoadHost, not from an image");
    auto h = std::make_unique<tsrModule_t>();
    h->device = device;
    if (tsrStatus s = cuda::module_load(h.get(), image, size)) return s;
    live_modules().add(h.get());
    *module = h.release();
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrModuleUnload(tsrModule module) {
  return api("tsrModuleUnload", [&] {
    if (!module) return invalid("module is NULL");
    if (!live_modules().remove(module)) return check_module("module", module);
    std::unique_ptr<tsrModule_t> h(module);
    for (auto& [name, kernel] : h->kernels) {
      (void)name;
      live_kernels().remove(kernel.get());
    }
    return h->device.type == TSR_DEVICE_CUDA ? cuda::module_unload(h.get()) : TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrModuleGetKernel(tsrModule module, const char* name, tsrKernel* kernel) {
  return api("tsrModuleGetKernel", [&] {
    if (!kernel) return invalid("kernel is NULL");
    *kernel = nullptr;
    if (!name) return invalid("name is NULL");
    if (tsrStatus s = check_module("module", module)) return s;
    std::lock_guard<std::mutex> lock(module->mu);
    if (auto it = module->kernels.find(name); it != module->kernels.end()) {
      *kernel = it->second.get();  // one handle per name
      return TSR_SUCCESS;
    }
    auto k = std::make_unique<tsrKernel_t>();
    k->module = module;
    k->device = module->device;
    k->name = name;
    const tsrStatus s = module->device.type == TSR_DEVICE_CPU ? cpu::get_kernel(module, name, k.get())
                                                              : cuda::get_kernel(module, name, k.get());
    if (s != TSR_SUCCESS) return s;
    tsrKernel raw = k.get();
    module->kernels.emplace(name, std::move(k));
    live_kernels().add(raw);
    *kernel = raw;
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrLaunchKernel(tsrKernel kernel, const tsrLaunchConfig* config, void** args, tsrStream stream) {
  return api("tsrLaunchKernel", [&] {
    if (tsrStatus s = check_kernel("kernel", kernel)) return s;
    if (!config) return invalid("config is NULL");
    for (int i = 0; i < 3; ++i)
      if (config->grid[i] == 0) return invalid(cat("config->grid[", i, "] is 0; every grid dimension must be >= 1"));
    if (tsrStatus s = check_stream_on(stream, kernel->device)) return s;
    if (kernel->device.type == TSR_DEVICE_CPU) return cpu::launch(kernel, config, args);
    for (int i = 0; i < 3; ++i)
      if (config->block[i] == 0) return invalid(cat("config->block[", i, "] is 0; every block dimension must be >= 1"));
    return cuda::launch(kernel, config, args, stream);
  });
}

// ---- graphs ----

TSR_API tsrStatus tsrGraphCreate(tsrDevice device, tsrGraph* graph) {
  return api("tsrGraphCreate", [&] {
    if (!graph) return invalid("graph is NULL");
    *graph = nullptr;
    if (tsrStatus s = check_device("device", device)) return s;
    if (device.type != TSR_DEVICE_CUDA)
      return set_error(TSR_ERROR_NOT_SUPPORTED, cat("graphs are CUDA graphs; ", device_str(device),
                                                    " runs kernels at launch time (use tsrLaunchKernel)"));
    auto h = std::make_unique<tsrGraph_t>();
    h->device = device;
    if (tsrStatus s = cuda::graph_create(h.get())) return s;
    live_graphs().add(h.get());
    *graph = h.release();
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrGraphDestroy(tsrGraph graph) {
  return api("tsrGraphDestroy", [&] {
    if (!graph) return invalid("graph is NULL");
    if (!live_graphs().remove(graph)) return check_graph("graph", graph);
    std::unique_ptr<tsrGraph_t> h(graph);
    std::lock_guard<std::mutex> lock(h->mu);
    return cuda::graph_destroy(h.get());
  });
}

TSR_API tsrStatus tsrGraphAddKernel(tsrGraph graph, tsrKernel kernel, const tsrLaunchConfig* config, void** args,
                                    int32_t* node) {
  return api("tsrGraphAddKernel", [&] {
    if (tsrStatus s = check_graph("graph", graph)) return s;
    if (tsrStatus s = check_kernel("kernel", kernel)) return s;
    if (!same_device(kernel->device, graph->device))
      return invalid(
          cat("kernel is on ", device_str(kernel->device), " but the graph is on ", device_str(graph->device)));
    if (!config) return invalid("config is NULL");
    for (int i = 0; i < 3; ++i)
      if (config->grid[i] == 0 || config->block[i] == 0)
        return invalid(
            cat("config->", config->grid[i] == 0 ? "grid[" : "block[", i, "] is 0; every dimension must be >= 1"));
    std::lock_guard<std::mutex> lock(graph->mu);
    if (graph->nodes.size() >= size_t(INT32_MAX)) return invalid("the graph has too many kernels");
    if (tsrStatus s = cuda::graph_add_kernel(graph, kernel, config, args)) return s;
    if (node) *node = int32_t(graph->nodes.size() - 1);
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrGraphSetKernelArgs(tsrGraph graph, int32_t node, void** args) {
  return api("tsrGraphSetKernelArgs", [&] {
    if (tsrStatus s = check_graph("graph", graph)) return s;
    std::lock_guard<std::mutex> lock(graph->mu);
    if (node < 0 || size_t(node) >= graph->nodes.size())
      return invalid(cat("node is ", node, "; the graph has ", graph->nodes.size(), " kernels"));
    if (tsrStatus s = check_kernel("the node's kernel", graph->nodes[size_t(node)].kernel)) return s;
    return cuda::graph_set_kernel_args(graph, size_t(node), args);
  });
}

TSR_API tsrStatus tsrGraphLaunch(tsrGraph graph, tsrStream stream) {
  return api("tsrGraphLaunch", [&] {
    if (tsrStatus s = check_graph("graph", graph)) return s;
    if (tsrStatus s = check_stream_on(stream, graph->device)) return s;
    std::lock_guard<std::mutex> lock(graph->mu);
    for (const auto& n : graph->nodes)  // an unloaded module takes its kernels with it
      if (!live_kernels().contains(n.kernel))
        return invalid("a kernel of the graph was unloaded with its module (destroy graphs first)");
    if (graph->nodes.empty()) return TSR_SUCCESS;
    return cuda::graph_launch(graph, stream);
  });
}

}  // extern "C"
