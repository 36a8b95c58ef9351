package dtm.model;

import dtm.data.DefaultModel;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Java's component kinds take their Hugging Face names from the engine's architecture table. */
class ComponentKindTest {
    @Test
    void everyComponentIsNamedByItsKind() throws IOException {
        try (Model model = Model.load(DefaultModel.path())) {
            for (Component c : model.components()) {
                String expected = c.kind().inLayer() ? "model.layers." + c.layer() + "." + c.kind().hfName()
                        : c.kind().hfName();
                assertEquals(expected, c.name());
            }
        }
        assertEquals("self_attn.q_proj", ComponentKind.Q_PROJ.hfName());
        assertEquals("lm_head", ComponentKind.LM_HEAD.hfName());
    }
}
