#version 330 core
// Outputs: 0 colour (linear RGB written to an sRGB8 buffer: stored gamma-encoded, multisample resolves
// average light); with LABELS also 1 depth (z along the optical axis, m,
// R32F), 2 ids (RGBA8: semantic, instance+1 high byte, low byte), 3 normal (camera frame, facing
// the camera, RGBA16F).
in vec3 v_albedo;
in vec3 v_light;
in vec2 v_uv;
flat in float v_textured;
uniform sampler2D surface;
layout(location = 0) out vec4 o_colour;
#ifdef LABELS
in vec3 v_pos;
in vec3 v_normal;
flat in ivec2 v_ids;
layout(location = 1) out float o_depth;
layout(location = 2) out vec4 o_ids;
layout(location = 3) out vec4 o_normal;
#endif
void main() {
    vec3 albedo = v_textured > 0.5 ? texture(surface, v_uv).rgb : v_albedo;
    o_colour = vec4(clamp(albedo * v_light, 0.0, 1.0), 1.0);
#ifdef LABELS
    o_depth = v_pos.z;
    o_ids = vec4(float(v_ids.x), float(v_ids.y >> 8), float(v_ids.y & 255), 0.0) / 255.0;
    vec3 n = normalize(v_normal);
    o_normal = vec4(dot(n, v_pos) > 0.0 ? -n : n, 0.0);
#endif
}
