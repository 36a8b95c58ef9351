package dtm.bindings.presets;

import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.javacpp.tools.Info;
import org.bytedeco.javacpp.tools.InfoMap;
import org.bytedeco.javacpp.tools.InfoMapper;

/**
 * JavaCPP preset for the engine's C API, {@code cpp/include/dtm/dtm.h}.
 *
 * <p>At build time JavaCPP parses the header into {@code dtm.bindings.Dtm} (generated, never
 * edited) and compiles {@code libjniDtm.so}, which links {@code libdtm.so}; both go into the
 * jar under {@code dtm/bindings/linux-x86_64/}. The include and link directories come from the
 * Maven build (bindings/pom.xml), not from here.
 *
 * <p>No C++ exception crosses the C API, so the JNI glue needs no exception handling
 * ({@link NoException}).
 */
@Properties(
        target = "dtm.bindings.Dtm",
        value = @Platform(include = "dtm/dtm.h", link = "dtm"))
@NoException
public class DtmPreset implements InfoMapper {

    @Override
    public void map(InfoMap infoMap) {
        infoMap
                // The export macro and the include guard are no declarations.
                .put(new Info("DTM_API").cppTypes().annotations())
                .put(new Info("DTM_H").skip());
    }
}
