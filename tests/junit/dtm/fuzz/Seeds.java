package dtm.fuzz;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The seed corpus of the parser fuzz tests: real files that dtm wrote (tests/corpus-java, see
 * its README.md), one directory per target, on the test class path where Jazzer's JUnit
 * integration also finds them ({@code ParserFuzzTestInputs/<target>/}).
 */
final class Seeds {
    /** One seed file. */
    record Seed(String name, byte[] bytes) {
    }

    private Seeds() {
    }

    static List<Seed> all(String target) throws IOException {
        String where = "ParserFuzzTestInputs/" + target;
        URL url = Seeds.class.getResource(where);
        if (url == null) {
            throw new IllegalStateException("no seed directory " + where + " next to " + Seeds.class.getName()
                    + " on the class path (tests/corpus-java)");
        }
        Path dir;
        try {
            dir = Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        List<Seed> seeds = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                seeds.add(new Seed(f.getFileName().toString(), Files.readAllBytes(f)));
            }
        }
        if (seeds.isEmpty()) {
            throw new IllegalStateException("the seed directory " + dir + " is empty");
        }
        return seeds;
    }
}
