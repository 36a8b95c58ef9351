package dtm.spark;

import dtm.engine.Isa;
import dtm.metrics.Progress;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Model;
import dtm.model.SessionOptions;
import org.apache.spark.TaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.resource.ResourceInformation;

import java.io.Serializable;

/**
 * What every task of one job needs to evaluate on an executor: where the base model is (a path
 * every executor can read, checked against the driver's fingerprint), the reference shipped with
 * the job, and the sessions' settings.
 */
record TaskSetup(String modelPath, String tokenizerPath, String fingerprint, String referenceKey,
                 Broadcast<byte[]> reference, int threads, String isa, String device, int maxSequences,
                 int maxBatchTokens, int chunkSamples) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The setup of a job over {@code base} and the shipped reference, with {@code threads} per task. */
    static TaskSetup of(Model base, String referenceKey, Broadcast<byte[]> reference, RunOptions run, int threads) {
        SessionOptions s = run.session();
        return new TaskSetup(base.path().toString(), base.tokenizerPath().toString(), base.fingerprint(),
                referenceKey, reference, threads, s.isa().name(), s.device(), s.maxSequences(), s.maxBatchTokens(),
                run.chunkSamples());
    }

    /** The base model, loaded once per executor JVM. */
    Model base() {
        return ExecutorState.model(modelPath, tokenizerPath, fingerprint);
    }

    /** The reference, read once per executor JVM. */
    Reference loadReference() {
        return ExecutorState.reference(referenceKey, reference.value());
    }

    /**
     * The sessions and chunking of the task's evaluations (no progress: the driver reports it). A
     * CUDA device runs on the GPU Spark's resource scheduling gave the task (resource "gpu",
     * spark.task.resource.gpu.amount), when it gave one: the job's cuda:N stands for "a GPU".
     */
    RunOptions run() {
        return new RunOptions(new SessionOptions(threads, Isa.valueOf(isa), maxSequences, maxBatchTokens,
                deviceOf(device, TaskContext.get())), chunkSamples, Progress.NONE);
    }

    /** {@code device}, or for a CUDA device the first GPU address assigned to the task. */
    static String deviceOf(String device, TaskContext task) {
        if (task == null || !device.startsWith("cuda")) {
            return device;
        }
        ResourceInformation gpu = task.resourcesJMap().get("gpu");
        return gpu == null || gpu.addresses().length == 0 ? device : "cuda:" + gpu.addresses()[0];
    }
}
