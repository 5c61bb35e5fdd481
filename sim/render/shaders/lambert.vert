#version 330 core
layout(location = 0) in vec3 position;
layout(location = NORMAL_LOC) in vec3 normal;
layout(location = COLOR_0_LOC) in vec4 color_0;
layout(location = INST_M_LOC) in mat4 inst_m;
struct DirectionalLight { vec3 color; float intensity; vec3 direction; };
uniform mat4 M;
uniform mat4 V;
uniform mat4 P;
uniform vec3 ambient_light;
uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS + 1];
uniform int n_directional_lights;
out vec3 frag_colour;
void main() {
    mat4 model = M * inst_m;
    gl_Position = P * V * model * vec4(position, 1.0);
    vec3 n = normalize(mat3(transpose(inverse(model))) * normal);
    vec3 light = ambient_light;
    for (int i = 0; i < n_directional_lights; i++) {
        DirectionalLight l = directional_lights[i];
        light += l.color * l.intensity * abs(dot(n, -normalize(l.direction))) * 0.3183099;
    }
    frag_colour = pow(clamp(color_0.rgb * light, 0.0, 1.0), vec3(1.0 / 2.2));
}
