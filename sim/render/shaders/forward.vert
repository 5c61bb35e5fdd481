#version 330 core
// One forward pass: static chunks (world-space vertices) and, with INSTANCED, actors drawn from a
// class mesh and per-instance poses. World frame z up; V is camera (OpenCV) from world. LABELS
// (defined by the renderer for label passes) adds the depth, id and normal varyings.
layout(location = 0) in vec3 position;
layout(location = 1) in vec3 normal;
layout(location = 2) in vec3 colour;
layout(location = 3) in vec2 uv;
layout(location = 4) in float semantic;
layout(location = 5) in float paint;
layout(location = 6) in float textured;
layout(location = 7) in vec4 inst_pose;   // x, y, cos(yaw), sin(yaw)
layout(location = 8) in vec4 inst_scale;  // scale x, y, z; actor index + 1 (0: no actor)
layout(location = 9) in vec4 inst_body;   // body colour (linear); semantic id
uniform mat4 VP;
uniform mat4 V;
uniform vec3 sun_dir;
uniform vec3 sun;
uniform vec3 ambient;
out vec3 v_albedo;
out vec3 v_light;
out vec2 v_uv;
flat out float v_textured;
#ifdef LABELS
out vec3 v_pos;
out vec3 v_normal;
flat out ivec2 v_ids;
#endif
void main() {
#ifdef INSTANCED
    vec3 p = position * inst_scale.xyz;
    vec3 w = vec3(inst_pose.z * p.x - inst_pose.w * p.y + inst_pose.x,
                  inst_pose.w * p.x + inst_pose.z * p.y + inst_pose.y, p.z);
    vec3 n = normal / inst_scale.xyz;
    n = normalize(vec3(inst_pose.z * n.x - inst_pose.w * n.y, inst_pose.w * n.x + inst_pose.z * n.y, n.z));
    v_albedo = mix(colour, inst_body.rgb, paint);
#else
    vec3 w = position;
    vec3 n = normal;
    v_albedo = colour;
#endif
    gl_Position = VP * vec4(w, 1.0);
    v_light = ambient + sun * abs(dot(n, sun_dir));
    v_uv = uv;
    v_textured = textured;
#ifdef LABELS
    v_pos = (V * vec4(w, 1.0)).xyz;
    v_normal = mat3(V) * n;
#ifdef INSTANCED
    v_ids = ivec2(int(inst_body.a), int(inst_scale.w));
#else
    v_ids = ivec2(int(semantic), 0);
#endif
#endif
}
