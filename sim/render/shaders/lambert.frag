#version 330 core
in vec3 frag_colour;
out vec4 frag_color;
void main() { frag_color = vec4(frag_colour, 1.0); }
