package dtm.cli;

import dtm.engine.Engine;
import picocli.CommandLine.IVersionProvider;

/** "dtm 0.1.0" plus the engine's version and the CPU's best kernel path. */
final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String version = DtmCommand.class.getPackage().getImplementationVersion();
        String engine;
        try {
            engine = "engine " + Engine.version() + ", best kernel path " + Engine.bestIsa();
        } catch (LinkageError e) {
            engine = "engine not loadable: " + e.getMessage();
        }
        return new String[] {"dtm " + (version == null ? "(development build)" : version), engine};
    }
}
